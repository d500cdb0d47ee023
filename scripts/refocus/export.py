"""Export a trained refocus checkpoint to ONNX fp32 + INT8 (QDQ), and write a parity fixture.

    /usr/bin/python3 scripts/refocus/export.py --ckpt DIR --out DIR [--fixture DIR]

--ckpt holds checkpoint.pt and calib.pt (from train.py). --out receives refocus-fp32.onnx,
refocus-int8.onnx and export.json (sizes, SHA-256, INT8-vs-fp32 validation metrics).
--fixture (default: --out) receives parity.json + parity-input.f32 + parity-output.f32: a few
normalised validation crops and PyTorch's outputs, which test/refocus/parity.test.ts compares
with onnxruntime-node.

I/O of both models: input "image" float32 [N,1,H,W] (H, W multiples of 32) in per-image
normalised units (v - mean) / scale (see pairs.py / src/refocus/normalise.ts); output
"refocused", same shape and units.

INT8 follows scripts/deepfocus/export.py (the function is adapted here, not imported, because
that file is tied to the DeepFocus graph): BatchNorm folded, per-output-channel symmetric 7-bit
weights (int8 in [-63, 63]: no int16 accumulator saturation on AVX2 without VNNI), int32
biases, uint8 activations whose ranges are the 0.01 / 99.99 percentiles over calibration
crops. Resize, Concat and the pixel (un)shuffles stay float between DequantizeLinear and
QuantizeLinear.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from losses import data_range, psnr, ssim  # noqa: E402
from unet import RefocusNet, fused_copy  # noqa: E402

WEIGHT_MAX = 63
INPUT, OUTPUT = "image", "refocused"
FIXTURE_CROP = 128


def load(ckpt_dir):
    ck = torch.load(os.path.join(ckpt_dir, "checkpoint.pt"))
    model = RefocusNet(tuple(ck["widths"]))
    model.load_state_dict(ck["state"])
    return fused_copy(model), ck


def export_fp32(model, path):
    dummy = torch.zeros(1, 1, 128, 128)
    torch.onnx.export(
        model, dummy, path, input_names=[INPUT], output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "N", 2: "H", 3: "W"}, OUTPUT: {0: "N", 2: "H", 3: "W"}}, opset_version=13, do_constant_folding=True,
    )


def _percentiles(chunks, signed):
    v = torch.cat([c.flatten() for c in chunks])
    if v.numel() > 4_000_000:
        v = v[torch.randperm(v.numel(), generator=torch.Generator().manual_seed(0))[:4_000_000]]
    v = v.double().numpy()
    hi = float(np.percentile(v, 99.99))
    lo = float(np.percentile(v, 0.01)) if signed else 0.0
    return min(lo, 0.0), max(hi, 1e-6)


@torch.no_grad()
def calibrate(model, windows):
    """Ranges of each Conv input and each ReLU output, in module (= execution) order."""
    mods = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ReLU))]
    store = {id(m): [] for m in mods}
    hooks = []
    for m in mods:
        if isinstance(m, torch.nn.ReLU):
            hooks.append(m.register_forward_hook(lambda mod, i, o: store[id(mod)].append(o)))
        else:
            hooks.append(m.register_forward_hook(lambda mod, i, o: store[id(mod)].append(i[0])))
    for i in range(0, len(windows), 16):
        model(windows[i : i + 16].float())
    for h in hooks:
        h.remove()
    conv_in = [(m, _percentiles(store[id(m)], True)) for m in mods if isinstance(m, torch.nn.Conv2d)]
    relu_out = [(m, _percentiles(store[id(m)], False)) for m in mods if isinstance(m, torch.nn.ReLU)]
    return conv_in, relu_out


def quantize(fp32_path, int8_path, model, windows):
    conv_in, relu_out = calibrate(model, windows)
    m = onnx.load(fp32_path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    conv_nodes = [n for n in g.node if n.op_type == "Conv"]
    relu_nodes = [n for n in g.node if n.op_type == "Relu"]
    assert len(conv_nodes) == len(conv_in) and len(relu_nodes) == len(relu_out), "graph/module order mismatch"
    ranges = {}
    for node, (mod, r) in zip(conv_nodes, conv_in):
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

    for node in conv_nodes:
        wname, x = node.input[1], node.input[0][: -len("_dq")]
        w = numpy_helper.to_array(inits[wname]).astype(np.float64)
        flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        ws = np.maximum(flat, 1e-12) / WEIGHT_MAX
        wq = np.clip(np.round(w / ws.reshape(-1, 1, 1, 1)), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
        g.initializer.remove(inits[wname])
        new_inits += [numpy_helper.from_array(wq, f"{wname}_q"),
                      numpy_helper.from_array(ws.astype(np.float32), f"{wname}_scale"),
                      numpy_helper.from_array(np.zeros(len(ws), np.int8), f"{wname}_zp")]
        qdq_nodes.append(helper.make_node("DequantizeLinear", [f"{wname}_q", f"{wname}_scale", f"{wname}_zp"], [f"{wname}_dq"], name=f"{wname}_DQ", axis=0))
        node.input[1] = f"{wname}_dq"
        if len(node.input) > 2 and node.input[2]:
            bname = node.input[2]
            b = numpy_helper.to_array(inits[bname]).astype(np.float64)
            bs = ws * act_scale[x]
            bq = np.round(b / bs).astype(np.int32)
            g.initializer.remove(inits[bname])
            new_inits += [numpy_helper.from_array(bq, f"{bname}_q"),
                          numpy_helper.from_array(bs.astype(np.float32), f"{bname}_scale"),
                          numpy_helper.from_array(np.zeros(len(bs), np.int32), f"{bname}_zp")]
            qdq_nodes.append(helper.make_node("DequantizeLinear", [f"{bname}_q", f"{bname}_scale", f"{bname}_zp"], [f"{bname}_dq"], name=f"{bname}_DQ", axis=0))
            node.input[2] = f"{bname}_dq"

    g.initializer.extend(new_inits)
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


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_onnx(path, x):
    """Runs an ONNX file with onnxruntime (python) when available, else None."""
    try:
        import onnxruntime as ort  # noqa: F401
    except ImportError:
        return None
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return torch.from_numpy(s.run([OUTPUT], {INPUT: x.numpy()})[0])


@torch.no_grad()
def write_fixture(model, calib, fixture_dir, fp32_path):
    """Normalised validation crops across the defocus range + a flat noisy field, with PyTorch's outputs."""
    xv, metas = calib["x_val"], calib["meta_val"]
    picks = []
    for lo, hi in [(0, 3), (7, 14), (21, 33)]:
        idx = [i for i, m in enumerate(metas) if lo <= m["r_def"] < hi and m["source"] != "empty"]
        if idx:
            picks.append(idx[0])
    c = FIXTURE_CROP
    crops = [xv[i : i + 1, :, :c, :c].float() for i in picks]
    flat = torch.randn(1, 1, c, c, generator=torch.Generator().manual_seed(0))
    x = torch.cat(crops + [flat]).contiguous()
    out = model(x)
    os.makedirs(fixture_dir, exist_ok=True)
    x.numpy().astype("<f4").tofile(os.path.join(fixture_dir, "parity-input.f32"))
    out.numpy().astype("<f4").tofile(os.path.join(fixture_dir, "parity-output.f32"))
    fixture = {
        "model": os.path.relpath(fp32_path, fixture_dir),
        "modelSha256": sha256(fp32_path),
        "input": "parity-input.f32",
        "output": "parity-output.f32",
        "shape": list(x.shape),
        "dtype": "float32le",
        "rDefPx": [round(metas[i]["r_def"], 3) for i in picks] + [None],
    }
    with open(os.path.join(fixture_dir, "parity.json"), "w") as f:
        json.dump(fixture, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fixture")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    model, ck = load(a.ckpt)
    calib = torch.load(os.path.join(a.ckpt, "calib.pt"))
    fp32 = os.path.join(a.out, "refocus-fp32.onnx")
    int8 = os.path.join(a.out, "refocus-int8.onnx")
    export_fp32(model, fp32)
    quantize(fp32, int8, model, calib["x"][:, :, :128, :128])
    write_fixture(model, calib, a.fixture or a.out, fp32)
    info = {
        "input": {"name": INPUT, "shape": ["N", 1, "H", "W"], "dtype": "float32", "units": "(v - mean) / scale over the whole image"},
        "output": {"name": OUTPUT, "shape": ["N", 1, "H", "W"], "units": "same as input"},
        "multiple": 32,
        "widths": list(ck["widths"]),
        "steps": ck.get("step"),
        "fp32": {"file": os.path.basename(fp32), "bytes": os.path.getsize(fp32), "sha256": sha256(fp32)},
        "int8": {"file": os.path.basename(int8), "bytes": os.path.getsize(int8), "sha256": sha256(int8)},
        "weight_bits": 7,
    }
    with open(os.path.join(a.out, "export.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
