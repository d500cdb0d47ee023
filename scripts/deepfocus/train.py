"""Train the DeepFocus CNN on synthetic data (see synth.py) and save a checkpoint + metrics.

    /usr/bin/python3 scripts/deepfocus/train.py --out DIR [--smoke]

Writes DIR/checkpoint.pt and DIR/metrics.json. export.py turns the checkpoint into ONNX.
The learning-rate schedule (warm-up + cosine) ends at --steps or at --train-minutes of
training, whichever comes first, so a loaded machine still finishes an annealed model in time.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads stall on a loaded machine
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import synth  # noqa: E402
import training  # noqa: E402
from model import DeepFocusNet  # noqa: E402

FULL = dict(width=1.0, train=24000, val=2000, steps=6000, batch=64, lr=2e-3, train_minutes=40.0)
SMOKE = dict(width=0.25, train=800, val=200, steps=250, batch=32, lr=3e-3, train_minutes=1.0)


def _gen_chunk(args, flaw_fraction=None):
    n, seed = args
    torch.set_num_threads(1)
    xs, ks, vs, metas = synth.generate(n, seed, flaw_fraction=flaw_fraction)
    return xs, ks, vs, [(m["source"], m["flaws"]) for m in metas]


def generate_parallel(n: int, seed: int, procs: int, flaw_fraction=None):
    parts = training.generate_chunks(functools.partial(_gen_chunk, flaw_fraction=flaw_fraction), n, seed, procs, chunk=500)
    xs = torch.cat([p[0] for p in parts])
    ks = torch.cat([p[1] for p in parts])
    vs = torch.cat([p[2] for p in parts])
    tags = [t for p in parts for t in p[3]]
    return xs, ks, vs, tags


def loss_fn(out, k, v):
    """L1 on the blur radius (px) over valid windows, relative beyond ~12 px; BCE on validity."""
    w = 1.0 / (1.0 + k / 12.0)
    reg = ((out[:, 0] - k).abs() * w * v).sum() / v.sum().clamp(min=1)
    bce = F.binary_cross_entropy_with_logits(out[:, 1], v)
    return reg + 0.5 * bce, reg, bce


@torch.no_grad()
def predict(model, xs, batch=128):
    model.eval()
    outs = [model(synth.to_float(xs[i : i + batch])) for i in range(0, len(xs), batch)]
    return torch.cat(outs)


def spearman(a, b):
    ra = a.argsort().argsort().float()
    rb = b.argsort().argsort().float()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm() + 1e-12))


def evaluate(model, xs, ks, vs, tags):
    """Validation metrics; `tags` = (source, flaws) per window."""
    src = [t[0] for t in tags]
    out = predict(model, xs)
    pred, logit = out[:, 0], out[:, 1]
    valid = vs > 0.5
    m = {"n": len(ks), "n_valid": int(valid.sum())}
    err = (pred - ks).abs()
    for lo, hi in [(0, 4), (4, 10), (10, 25), (25, 50), (50, 110)]:
        sel = valid & (ks >= lo) & (ks < hi)
        if sel.any():
            m[f"mae_px_b{lo}-{hi}"] = round(float(err[sel].mean()), 3)
            m[f"median_ae_px_b{lo}-{hi}"] = round(float(err[sel].median()), 3)
            m[f"median_rel_err_b{lo}-{hi}"] = round(float((err[sel] / ks[sel]).median()), 4)
    m["mae_px_valid"] = round(float(err[valid].mean()), 3)
    m["spearman_valid"] = round(spearman(pred[valid], ks[valid]), 4)
    m["validity_accuracy"] = round(float(((logit > 0) == valid).float().mean()), 4)
    empty = torch.tensor([s == "empty" for s in src])
    m["empty_flagged_invalid"] = round(float((logit[empty] < 0).float().mean()), 4) if empty.any() else None

    def mae_by(groups):
        """{name: MAE (px) over the valid windows whose tag `has`}, groups without any left out."""
        sels = {name: valid & torch.tensor([has(t) for t in tags]) for name, has in groups.items()}
        return {name: round(float(err[sel].mean()), 3) for name, sel in sels.items() if sel.any()}

    m["mae_px_by_source"] = mae_by({s: (lambda t, s=s: t[0] == s) for s in sorted(set(src)) if s != "empty"})
    m["mae_px_by_flaw"] = mae_by({"none": lambda t: t[1] == "", **{n: (lambda t, n=n: n in t[1]) for n in ("shading", "stripes", "jpeg")}})
    return m


def main():
    def add_arguments(ap):
        ap.add_argument("--flaw-fraction", type=float, help="share of windows with camera and illumination flaws (synth.py; default: none, the shipped recipe)")

    a, cfg = training.parse_args(__doc__.splitlines()[0], FULL, SMOKE, seed=1234, procs=2, threads=2, add_arguments=add_arguments)
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    t0 = time.time()
    xs, ks, vs, _ = generate_parallel(cfg["train"], a.seed, a.procs, a.flaw_fraction)
    xv, kv, vv, tagsv = generate_parallel(cfg["val"], a.seed + 7919, a.procs, a.flaw_fraction)
    t_data = time.time() - t0
    print(f"data: {len(ks)} train / {len(kv)} val in {t_data:.0f}s; valid fraction {vs.mean():.2f}", flush=True)

    torch.set_num_threads(a.threads)
    model = DeepFocusNet(cfg["width"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    g = torch.Generator().manual_seed(a.seed)
    t1 = time.time()
    step, warm = 0, max(1, cfg["steps"] // 30)
    run_reg = run_bce = 0.0
    while True:
        progress, lr = training.schedule(cfg, step, time.time() - t1, warm)
        if progress >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(ks), (cfg["batch"],), generator=g)
        x = training.dihedral(synth.to_float(xs[idx]), int(torch.randint(0, 8, (), generator=g)))
        model.train()
        loss, reg, bce = loss_fn(model(x), ks[idx], vs[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        run_reg = 0.98 * run_reg + 0.02 * float(reg)
        run_bce = 0.98 * run_bce + 0.02 * float(bce)
        step += 1
        if step % 200 == 0:
            el = time.time() - t1
            print(f"step {step} {el/60:.1f} min lr {lr:.2e} reg {run_reg:.3f} bce {run_bce:.3f} ({step*cfg['batch']/el:.0f} samples/s)", flush=True)
        if step % 1000 == 0:
            torch.save({"state": model.state_dict(), "width": cfg["width"], "step": step}, os.path.join(a.out, "checkpoint.pt"))
    t_train = time.time() - t1
    torch.save({"state": model.state_dict(), "width": cfg["width"], "step": step}, os.path.join(a.out, "checkpoint.pt"))
    metrics = evaluate(model, xv, kv, vv, tagsv)
    info = {
        "config": cfg,
        "seed": a.seed,
        "flaw_fraction": a.flaw_fraction,
        "steps_done": step,
        "data_seconds": round(t_data, 1),
        "train_seconds": round(t_train, 1),
        "params": sum(p.numel() for p in model.parameters()),
        "train_valid_fraction": round(float(vs.mean()), 3),
        "val": metrics,
    }
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(info, f, indent=2)
    torch.save({"x": xs[:512].clone(), "x_val": xv[:256].clone(), "k_val": kv[:256].clone()}, os.path.join(a.out, "calib.pt"))
    print(json.dumps(info, indent=2), flush=True)


if __name__ == "__main__":
    main()
