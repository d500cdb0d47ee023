"""Training-loop pieces shared by scripts/deepfocus/train.py and scripts/refocus/train.py."""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp


def parse_args(description, full, smoke, seed, procs, threads, add_arguments=None):
    """Command line of a train.py -> (args, cfg): cfg is `smoke` with --smoke, else `full`, with
    --steps, --train-minutes and --train-samples applied; `add_arguments(parser)` adds a
    script's own options."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--train-minutes", type=float)
    ap.add_argument("--train-samples", type=int)
    ap.add_argument("--procs", type=int, default=procs, help="data-generation processes")
    ap.add_argument("--threads", type=int, default=threads, help="torch threads for training")
    if add_arguments:
        add_arguments(ap)
    a = ap.parse_args()
    cfg = dict(smoke if a.smoke else full)
    for key in ("steps", "train_minutes"):
        if getattr(a, key) is not None:
            cfg[key] = getattr(a, key)
    if a.train_samples:
        cfg["train"] = a.train_samples
    return a, cfg


def generate_chunks(worker, n, seed, procs, chunk):
    """worker((count, chunk_seed)) over n samples in chunks of `chunk`, in `procs` forked
    processes; the chunk seeds depend only on `seed` and the chunk index, so the data does not
    depend on `procs`. Returns the workers' results in order."""
    jobs = [(min(chunk, n - i), seed * 100003 + i // chunk) for i in range(0, n, chunk)]
    if procs <= 1:
        return [worker(j) for j in jobs]
    with mp.get_context("fork").Pool(procs) as pool:
        return pool.map(worker, jobs)


def schedule(cfg, step, elapsed_s, warm):
    """(progress, lr): progress = max(step / steps, elapsed / train_minutes), so training ends at
    whichever comes first; lr = linear warm-up over `warm` steps, then cosine to 0 at progress 1."""
    progress = max(step / cfg["steps"], elapsed_s / (cfg["train_minutes"] * 60))
    lr = cfg["lr"] * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * progress))
    return progress, lr


def dihedral(x, i):
    """One of the 8 flips/transposes of an [N, C, H, W] batch (i in 0..7)."""
    if i & 4:
        x = x.transpose(2, 3)
    if i & 1:
        x = x.flip(2)
    if i & 2:
        x = x.flip(3)
    return x
