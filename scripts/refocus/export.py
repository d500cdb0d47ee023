"""Export a trained refocus checkpoint to ONNX fp32 + INT8 (QDQ), and write a parity fixture.

    /usr/bin/python3 scripts/refocus/export.py --ckpt DIR --out DIR [--fixture DIR]

--ckpt holds checkpoint.pt and calib.pt (from train.py). --out receives refocus-fp32.onnx,
refocus-int8.onnx and export.json (sizes, SHA-256, INT8-vs-fp32 validation metrics).
--fixture (default: --out) receives parity.json + parity-input.f32 + parity-output.f32: a few
normalised validation crops and PyTorch's outputs, which test/refocus/parity.test.ts compares
with onnxruntime-node.

I/O of both models: input "image" float32 [N,2,H,W] (H, W multiples of 32): the image and its
blind Wiener estimate, both in the image's per-image normalised units (v - mean) / scale (see
unet.py, pairs.py, src/refocus/normalise.ts); output "refocused" float32 [N,1,H,W], same units.

INT8: BatchNorm folded, then scripts/common/qdq.py (as DeepFocus: 7-bit per-channel weights,
uint8 activations calibrated on training crops); Resize, Concat and the pixel (un)shuffles
stay float between DequantizeLinear and QuantizeLinear.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from losses import data_range, psnr, ssim  # noqa: E402
import qdq  # noqa: E402
from unet import CHANNELS, RefocusNet, fused_copy  # noqa: E402

INPUT, OUTPUT = "image", "refocused"
FIXTURE_CROP = 128


def load(ckpt_dir):
    ck = torch.load(os.path.join(ckpt_dir, "checkpoint.pt"))
    model = RefocusNet(tuple(ck["widths"]))
    model.load_state_dict(ck["state"])
    return fused_copy(model), ck


def export_fp32(model, path):
    dummy = torch.zeros(1, CHANNELS, 128, 128)
    torch.onnx.export(
        model, dummy, path, input_names=[INPUT], output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "N", 2: "H", 3: "W"}, OUTPUT: {0: "N", 2: "H", 3: "W"}}, opset_version=13, do_constant_folding=True,
    )


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
    flat = torch.randn(1, 1, c, c, generator=torch.Generator().manual_seed(0)).repeat(1, CHANNELS, 1, 1)
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
    crops = calib["x"][:, :, :128, :128]
    qdq.quantize(fp32, int8, model, [crops[i : i + 16].float() for i in range(0, len(crops), 16)])
    write_fixture(model, calib, a.fixture or a.out, fp32)
    info = {
        "input": {"name": INPUT, "shape": ["N", CHANNELS, "H", "W"], "dtype": "float32", "channels": ["image", "wiener"], "units": "(v - mean) / scale of the image over the whole image"},
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
