"""Train the refocus U-Net on synthetic defocused/in-focus pairs (pairs.py) and save a checkpoint.

    /usr/bin/python3 scripts/refocus/train.py --out DIR [--smoke] [--threads 1] [--train-minutes M]

Writes DIR/checkpoint.pt, DIR/metrics.json (validation PSNR/SSIM of input and output per
defocus bin) and DIR/calib.pt (windows for INT8 calibration and the parity fixture).
Learning rate: linear warm-up then cosine to zero, ending at --steps or at --train-minutes of
training, whichever comes first, so a loaded machine still finishes an annealed model in time.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import pairs  # noqa: E402
import training  # noqa: E402
from losses import loss_fn, psnr, ssim, data_range  # noqa: E402
from unet import DEFAULT_WIDTHS, RefocusNet, params  # noqa: E402

FULL = dict(widths=DEFAULT_WIDTHS, train=2000, val=100, steps=20000, batch=16, crop=128, lr=2e-3, train_minutes=38.0, optics=pairs.OPTICS_POOL)
SMOKE = dict(widths=(8, 12, 16, 24, 32), train=48, val=12, steps=60, batch=8, crop=64, lr=3e-3, train_minutes=0.5, optics=12)
R_BINS = [(0, 3), (3, 7), (7, 14), (14, 21), (21, 33)]


def _gen_chunk(args, pool_size):
    n, seed = args
    torch.set_num_threads(1)
    return pairs.generate(n, seed, pool_size=pool_size)


def generate(n: int, seed: int, procs: int, pool_size: int):
    """n pairs -> (network input fp16 [n,2,G,G], target fp16 [n,1,G,G], metas); the Wiener
    channel runs in 2 node processes whatever `procs` (it is most of the data time)."""
    parts = training.generate_chunks(functools.partial(_gen_chunk, pool_size=pool_size), n, seed, procs, chunk=250)
    dns, ys, metas = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), [m for p in parts for m in p[2]]
    return pairs.inputs(dns, metas, pairs.wiener_channel(dns, metas, procs=2)), ys, metas


def batch(xs, ys, n, crop, g):
    idx = torch.randint(0, len(xs), (n,), generator=g)
    G = xs.shape[-1]
    oy = torch.randint(0, G - crop + 1, (n,), generator=g)
    ox = torch.randint(0, G - crop + 1, (n,), generator=g)
    x = torch.stack([xs[i, :, a : a + crop, b : b + crop] for i, a, b in zip(idx.tolist(), oy.tolist(), ox.tolist())]).float()
    y = torch.stack([ys[i, :, a : a + crop, b : b + crop] for i, a, b in zip(idx.tolist(), oy.tolist(), ox.tolist())]).float()
    d = int(torch.randint(0, 8, (), generator=g))
    return training.dihedral(x, d), training.dihedral(y, d)


@torch.no_grad()
def evaluate(model, xs, ys, metas, bs=16):
    model.eval()
    outs = torch.cat([model(xs[i : i + bs].float()) for i in range(0, len(xs), bs)])
    x, w, y = xs[:, :1].float(), xs[:, 1:].float(), ys.float()
    rng = data_range(y)
    p_in, p_out, p_w = psnr(x, y, rng), psnr(outs, y, rng), psnr(w, y, rng)
    s_in, s_out = ssim(x, y, rng), ssim(outs, y, rng)
    r = torch.tensor([m["r_def"] for m in metas])
    k = torch.tensor([m["k"] for m in metas])
    real = torch.tensor([m["source"] != "empty" for m in metas])

    def summary(sel):
        return dict(n=int(sel.sum()), psnr_in=round(float(p_in[sel].mean()), 2), psnr_out=round(float(p_out[sel].mean()), 2),
                    gain_db=round(float((p_out - p_in)[sel].mean()), 2),
                    wiener_gain_db=round(float((p_w - p_in)[sel].mean()), 2), ssim_in=round(float(s_in[sel].mean()), 4), ssim_out=round(float(s_out[sel].mean()), 4))

    m = {"all": summary(real)}
    for lo, hi in R_BINS:
        sel = real & (r >= lo) & (r < hi)
        if sel.any():
            m[f"r_def {lo}-{hi} px"] = summary(sel)
    for lo, hi in [(0, 1), (1, 2), (2, 3), (3, 100)]:
        sel = real & (k >= lo) & (k < hi)
        if sel.any():
            m[f"|z| {lo}-{hi} DOF"] = summary(sel)
    return m, outs


def main():
    a, cfg = training.parse_args(__doc__.splitlines()[0], FULL, SMOKE, seed=4242, procs=1, threads=1)
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    t0 = time.time()
    xs, ys, _ = generate(cfg["train"], a.seed, a.procs, cfg["optics"])
    xv, yv, mv = generate(cfg["val"], a.seed + 7919, a.procs, cfg["optics"])
    t_data = time.time() - t0
    print(f"data: {len(xs)} train / {len(xv)} val pairs in {t_data:.0f}s", flush=True)

    torch.set_num_threads(a.threads)
    model = RefocusNet(cfg["widths"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    g = torch.Generator().manual_seed(a.seed)
    t1 = time.time()
    step, warm = 0, max(1, min(300, cfg["steps"] // 30))
    run_l1_ratio = run_ss = 0.0
    ckpt = os.path.join(a.out, "checkpoint.pt")
    while True:
        progress, lr = training.schedule(cfg, step, time.time() - t1, warm)
        if progress >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = batch(xs, ys, cfg["batch"], cfg["crop"], g)
        model.train()
        loss, l1_ratio, ss = loss_fn(model(x), y, x[:, :1])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run_l1_ratio = 0.98 * run_l1_ratio + 0.02 * float(l1_ratio)
        run_ss = 0.98 * run_ss + 0.02 * float(ss)
        step += 1
        if step % 100 == 0:
            el = time.time() - t1
            print(f"step {step} {el/60:.1f} min lr {lr:.2e} l1/l1_in {run_l1_ratio:.4f} ssim {run_ss:.4f} ({step*cfg['batch']/el:.1f} crops/s)", flush=True)
        if step % 1000 == 0:
            torch.save({"state": model.state_dict(), "widths": cfg["widths"], "step": step}, ckpt)
    t_train = time.time() - t1
    torch.save({"state": model.state_dict(), "widths": cfg["widths"], "step": step}, ckpt)
    metrics, _ = evaluate(model, xv, yv, mv)
    info = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "seed": a.seed,
        "threads": a.threads,
        "steps_done": step,
        "data_seconds": round(t_data, 1),
        "train_seconds": round(t_train, 1),
        "params": params(model),
        "val": metrics,
    }
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(info, f, indent=2)
    torch.save({"x": xs[:256].clone(), "x_val": xv[:64].clone(), "y_val": yv[:64].clone(), "meta_val": mv[:64]}, os.path.join(a.out, "calib.pt"))
    print(json.dumps(info, indent=2), flush=True)


if __name__ == "__main__":
    main()
