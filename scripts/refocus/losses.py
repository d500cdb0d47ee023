"""Loss and image-quality measures for the refocus network (PyTorch).

Loss = L1 + (1 - SSIM), both on per-sample scale-free units:
  * L1 (not L2): the restoration literature (Zhao et al., "Loss functions for image
    restoration with neural networks", IEEE TCI 2017) finds L1 converges to sharper,
    less blotchy results than L2 and is robust to the unrecoverable outliers that heavy
    defocus of sparse objects produces (a 30-px blurred bead cannot be put back exactly);
  * SSIM: rewards local contrast and structure (edges, texture) that defocus removes and a
    pixel loss under-weights in low-contrast regions; with L1 it is the combination Zhao et
    al. found best. Gaussian window sigma 1.5 px (11 taps), C1 = (0.01 L)^2, C2 = (0.03 L)^2
    with L the target's data range (max - min), as in Wang et al. 2004 / skimage.
Both terms are computed after dividing the pair by the target's standard deviation (per
sample): a sparse object whose sharp target has 50x the contrast of its blurred input would
otherwise dominate the batch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_SIGMA = 1.5
_TAPS = 11


def _gauss(device=None):
    x = torch.arange(_TAPS, dtype=torch.float32, device=device) - _TAPS // 2
    k = torch.exp(-(x**2) / (2 * _SIGMA**2))
    return k / k.sum()


def _blur(x):
    k = _gauss(x.device)
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def ssim_map(a, b, data_range):
    """Per-pixel SSIM of [N,1,H,W] tensors ('valid' region: H-10 x W-10); data_range [N]."""
    L = data_range.view(-1, 1, 1, 1)
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mu_a, mu_b = _blur(a), _blur(b)
    saa = _blur(a * a) - mu_a**2
    sbb = _blur(b * b) - mu_b**2
    sab = _blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))


def ssim(a, b, data_range):
    return ssim_map(a, b, data_range).mean(dim=(1, 2, 3))


def data_range(t):
    return (t.amax(dim=(1, 2, 3)) - t.amin(dim=(1, 2, 3))).clamp(min=1e-6)


def psnr(a, b, rng=None):
    """PSNR (dB) per sample with peak = the reference b's data range (max - min)."""
    rng = data_range(b) if rng is None else rng
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3)).clamp(min=1e-12)
    return 10 * torch.log10(rng**2 / mse)


def loss_fn(out, target):
    s = target.std(dim=(1, 2, 3), keepdim=True).clamp(min=0.05)
    o, t = out / s, target / s
    l1 = (o - t).abs().mean()
    ss = ssim(o, t, data_range(t)).mean()
    return l1 + (1 - ss), l1, ss
