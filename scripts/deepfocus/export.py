"""Export a trained DeepFocus checkpoint to ONNX fp32 + INT8 (QDQ) and write a parity fixture.

    /usr/bin/python3 scripts/deepfocus/export.py --ckpt DIR --out DIR [--fixture DIR]

--ckpt holds checkpoint.pt and calib.pt (from train.py). --out receives deepfocus-fp32.onnx,
deepfocus-int8.onnx and export.json (sizes, SHA-256, calibration ranges). --fixture (default:
--out) receives parity.json + parity-input.u16: a few raw windows and PyTorch's outputs, which
test/inference/parity.test.ts compares with onnxruntime-node.

I/O of both models: input "windows" float32 [N,1,256,256] raw pixel values (any bit depth),
output "scores" float32 [N,2] = [blur radius in window pixels, validity logit].

INT8: BatchNorm folded, then scripts/common/qdq.py (7-bit per-channel weights, uint8
activations calibrated on training windows); the per-window normalisation stays fp32.
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
from model import WINDOW, DeepFocusNet, fused_copy  # noqa: E402
import qdq  # noqa: E402
import synth  # noqa: E402

INPUT, OUTPUT = "windows", "scores"


def load(ckpt_dir):
    ck = torch.load(os.path.join(ckpt_dir, "checkpoint.pt"))
    model = DeepFocusNet(ck["width"])
    model.load_state_dict(ck["state"])
    return fused_copy(model)


def export_fp32(model, path):
    dummy = torch.zeros(2, 1, WINDOW, WINDOW)
    torch.onnx.export(
        model, dummy, path, input_names=[INPUT], output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "N"}, OUTPUT: {0: "N"}}, opset_version=13, do_constant_folding=True,
    )


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@torch.no_grad()
def write_fixture(model, calib, fixture_dir, fp32_path):
    """Windows spanning the defocus range + a uniform field, with PyTorch's outputs."""
    xv, kv = calib["x_val"], calib["k_val"]
    picks = []
    for lo, hi in [(0, 4), (4, 10), (10, 25), (25, 50), (50, 110)]:
        idx = ((kv >= lo) & (kv < hi)).nonzero().flatten()
        if len(idx):
            picks.append(int(idx[0]))
    windows = torch.cat([synth.to_float(xv[picks]), torch.full((1, 1, WINDOW, WINDOW), 1000.0)])
    out = model(windows)
    os.makedirs(fixture_dir, exist_ok=True)
    windows.numpy().astype("<u2").tofile(os.path.join(fixture_dir, "parity-input.u16"))
    fixture = {
        "model": os.path.relpath(fp32_path, fixture_dir),
        "modelSha256": sha256(fp32_path),
        "input": "parity-input.u16",
        "shape": list(windows.shape),
        "inputDtype": "uint16le",
        "outputs": [[round(float(v), 6) for v in row] for row in out],
        "labels": [round(float(kv[i]), 4) for i in picks] + [None],
    }
    with open(os.path.join(fixture_dir, "parity.json"), "w") as f:
        json.dump(fixture, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fixture")
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    model = load(a.ckpt)
    calib = torch.load(os.path.join(a.ckpt, "calib.pt"))
    fp32 = os.path.join(a.out, "deepfocus-fp32.onnx")
    int8 = os.path.join(a.out, "deepfocus-int8.onnx")
    export_fp32(model, fp32)
    windows = calib["x"]
    ranges = qdq.quantize(fp32, int8, model, [synth.to_float(windows[i : i + 64]) for i in range(0, len(windows), 64)])
    write_fixture(model, calib, a.fixture or a.out, fp32)
    info = {
        "input": {"name": INPUT, "shape": ["N", 1, WINDOW, WINDOW], "dtype": "float32"},
        "output": {"name": OUTPUT, "shape": ["N", 2], "columns": ["blur_radius_px", "validity_logit"]},
        "fp32": {"file": os.path.basename(fp32), "bytes": os.path.getsize(fp32), "sha256": sha256(fp32)},
        "int8": {"file": os.path.basename(int8), "bytes": os.path.getsize(int8), "sha256": sha256(int8)},
        "weight_bits": 7,
        "activation_ranges": ranges,
    }
    with open(os.path.join(a.out, "export.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps({k: v for k, v in info.items() if k != "activation_ranges"}, indent=1))


if __name__ == "__main__":
    main()
