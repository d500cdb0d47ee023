"""Capture range of a DeepFocus checkpoint at one objective (10x / NA 0.3, 550 nm, 3.45 um camera
pixels).

    /usr/bin/python3 scripts/deepfocus/capture.py --ckpt DIR [--seeds 3]

Synthetic z-stacks (same object at |z|/DOF = 0, 1, ..., 20) of every training source. Prints JSON:
  * median model output per k, and the capture range = largest k up to which that median curve
    rises at every step; the per-source medians and the fraction of windows called valid.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from model import WINDOW, DeepFocusNet  # noqa: E402

TEN_X = synth.Optics(na=0.3, n=1.0, wl=0.55, mag=10.0, cam_px=3.45, px=0.345)


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--kmax", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(os.path.join(a.ckpt, "checkpoint.pt"))
    model = DeepFocusNet(ck["width"])
    model.load_state_dict(ck["state"])
    model.eval()
    ks = list(range(a.kmax + 1))
    stacks = []  # [sample][k] windows
    for si, name in enumerate(synth.SOURCE_NAMES):
        for seed in range(a.seeds):
            planes = []
            for k in ks:
                g = torch.Generator().manual_seed(10_000 + 100 * si + seed)
                x, _ = synth.sample(g, kinds=(name,), empty_frac=0.0, optics=TEN_X, k=float(k))
                planes.append(x.float())
            stacks.append(torch.stack(planes)[:, None])
    x = torch.stack(stacks)  # [S, K, 1, WINDOW, WINDOW]
    s_, k_ = x.shape[:2]
    flat = x.reshape(s_ * k_, 1, WINDOW, WINDOW)
    out = torch.cat([model(flat[i : i + 64]) for i in range(0, len(flat), 64)]).reshape(s_, k_, 2)
    pred = out[..., 0].median(dim=0).values
    capture = 0
    for i in range(1, len(ks)):
        if pred[i] > pred[i - 1]:
            capture = ks[i]
        else:
            break
    res = {
        "optics": TEN_X.__dict__ | {"dof_um": round(TEN_X.dof, 3), "defocus_px_per_dof": round(TEN_X.defocus_px_per_um() * TEN_X.dof, 2)},
        "samples_per_k": s_,
        "median_prediction_by_k": [round(float(v), 3) for v in pred],
        "per_source_median_by_k": {
            n: [round(float(v), 2) for v in out[i * a.seeds : (i + 1) * a.seeds, :, 0].median(dim=0).values]
            for i, n in enumerate(synth.SOURCE_NAMES)
        },
        "valid_fraction_by_k": [round(float(v), 2) for v in (out[..., 1] > 0).float().mean(dim=0)],
        "capture_range_dof": capture,
    }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
