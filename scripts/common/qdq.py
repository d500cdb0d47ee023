"""INT8 QDQ quantization shared by the DeepFocus and refocus exports (scripts/*/export.py).

BatchNorm must already be folded into the convs (the models' `fused_copy`). QuantizeLinear /
DequantizeLinear pairs are inserted with the onnx API: per-output-channel symmetric 7-bit
weights (int8 in [-63, 63], avoiding int16 accumulator saturation on AVX2 without VNNI), int32
biases, uint8 activations on every Conv/Gemm input and ReLU output whose ranges are the
0.01 / 99.99 percentiles over the calibration batches. Everything else (normalisation, Resize,
Concat, pixel (un)shuffles) stays float. ONNX Runtime fuses the pattern into QLinearConv / QGemm.
"""
from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

WEIGHT_MAX = 63  # 7-bit symmetric weights


def _percentiles(chunks, signed):
    v = torch.cat([c.flatten() for c in chunks])
    if v.numel() > 4_000_000:
        v = v[torch.randperm(v.numel(), generator=torch.Generator().manual_seed(0))[:4_000_000]]
    v = v.double().numpy()
    hi = float(np.percentile(v, 99.99))
    lo = float(np.percentile(v, 0.01)) if signed else 0.0
    return min(lo, 0.0), max(hi, 1e-6)


@torch.no_grad()
def calibrate(model, batches):
    """Ranges of each Conv/Linear input and each ReLU output, in module (= execution) order."""
    lin_in, relu_out, hooks = [], [], []
    mods = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.ReLU))]
    store = {id(m): [] for m in mods}
    for m in mods:
        if isinstance(m, torch.nn.ReLU):
            hooks.append(m.register_forward_hook(lambda mod, i, o: store[id(mod)].append(o)))
        else:
            hooks.append(m.register_forward_hook(lambda mod, i, o: store[id(mod)].append(i[0])))
    for x in batches:
        model(x)
    for h in hooks:
        h.remove()
    for m in mods:
        (relu_out if isinstance(m, torch.nn.ReLU) else lin_in).append((m, _percentiles(store[id(m)], True)))
    return lin_in, relu_out


def quantize(fp32_path, int8_path, model, batches):
    """Writes the QDQ INT8 model of `fp32_path` (exported from `model`) to `int8_path`,
    calibrated on `batches` (float input tensors); returns the activation ranges."""
    lin_in, relu_out = calibrate(model, batches)
    m = onnx.load(fp32_path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    mm_nodes = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
    relu_nodes = [n for n in g.node if n.op_type == "Relu"]
    assert len(mm_nodes) == len(lin_in) and len(relu_nodes) == len(relu_out), "graph/module order mismatch"
    ranges = {}
    for node, (mod, r) in zip(mm_nodes, lin_in):
        w = numpy_helper.to_array(inits[node.input[1]])
        assert w.shape[0] == mod.weight.shape[0] and w.shape[1] == mod.weight.shape[1], (node.name, w.shape)
        ranges.setdefault(node.input[0], r)
    for node, (_, r) in zip(relu_nodes, relu_out):
        ranges[node.output[0]] = (0.0, r[1])

    new_inits, qdq_nodes, act_scale = [], [], {}
    for name, (lo, hi) in ranges.items():
        scale = (hi - lo) / 255.0
        zp = int(np.clip(round(-lo / scale), 0, 255))
        act_scale[name] = scale
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_scale"),
                      numpy_helper.from_array(np.array(zp, np.uint8), f"{name}_zp")]
        qdq_nodes += [
            helper.make_node("QuantizeLinear", [name, f"{name}_scale", f"{name}_zp"], [f"{name}_q"], name=f"{name}_Q"),
            helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_scale", f"{name}_zp"], [f"{name}_dq"], name=f"{name}_DQ"),
        ]
    for node in g.node:
        for i, inp in enumerate(node.input):
            if inp in ranges:
                node.input[i] = f"{inp}_dq"

    def dequantized_constant(node, slot, q, scale):
        """Replaces initializer input `slot` of `node` by q · scale (per output channel, zero point 0)."""
        name = node.input[slot]
        g.initializer.remove(inits[name])
        new_inits.extend([numpy_helper.from_array(q, f"{name}_q"),
                          numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
                          numpy_helper.from_array(np.zeros(len(scale), q.dtype), f"{name}_zp")])
        qdq_nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_scale", f"{name}_zp"], [f"{name}_dq"], name=f"{name}_DQ", axis=0))
        node.input[slot] = f"{name}_dq"

    for node in mm_nodes:
        x = node.input[0][: -len("_dq")]
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
        flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        ws = np.maximum(flat, 1e-12) / WEIGHT_MAX
        wq = np.clip(np.round(w / ws.reshape(-1, *[1] * (w.ndim - 1))), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
        dequantized_constant(node, 1, wq, ws)
        if len(node.input) > 2 and node.input[2]:
            b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
            bs = ws * act_scale[x]
            dequantized_constant(node, 2, np.round(b / bs).astype(np.int32), bs)

    g.initializer.extend(new_inits)
    # topological order: put each Q/DQ right after its producer (weights first)
    produced_by = {}
    nodes = list(g.node)
    for q in qdq_nodes:
        produced_by.setdefault(q.input[0], []).append(q)
    init_names = {t.name for t in g.initializer}
    ordered = [q for q in qdq_nodes if q.input[0] in init_names]
    placed = {id(q) for q in ordered}

    def emit(tensor):
        for q in produced_by.get(tensor, []):
            if id(q) not in placed:
                placed.add(id(q))
                ordered.append(q)
                emit(q.output[0])

    for t in [i.name for i in g.input]:
        emit(t)
    for n in nodes:
        ordered.append(n)
        for o in n.output:
            emit(o)
    del g.node[:]
    g.node.extend(ordered)
    onnx.checker.check_model(m)
    onnx.save(m, int8_path)
    return {k: [round(v[0], 6), round(v[1], 6)] for k, v in ranges.items()}
