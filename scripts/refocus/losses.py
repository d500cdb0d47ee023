"""Loss and image-quality measures for the refocus network (PyTorch).

Loss = the pair's *relative* improvement in L1 and in (1 - SSIM):
    L1(out, y) / L1(x, y) + (1 - SSIM(out, y)) / (1 - SSIM(x, y))
with x the network's input, y the in-focus target, each ratio per sample, then averaged.
  * L1 (not L2): the restoration literature (Zhao et al., "Loss functions for image
    restoration with neural networks", IEEE TCI 2017) finds L1 converges to sharper,
    less blotchy results than L2 and is robust to the unrecoverable outliers that heavy
    defocus of sparse objects produces (a 30-px blurred bead cannot be put back exactly);
  * SSIM: rewards local contrast and structure (edges, texture) that defocus removes and a
    pixel loss under-weights in low-contrast regions; with L1 it is the combination Zhao et
    al. found best. Gaussian window sigma 1.5 px (11 taps), C1 = (0.01 L)^2, C2 = (0.03 L)^2
    with L the target's data range (max - min), as in Wang et al. 2004 / skimage.
  * Relative, not absolute: the training camera mix is mostly far noisier than a well-exposed
    brightfield frame, and an absolute loss is dominated by those pairs' noise, so the network
    learnt to denoise and hardly deblurred at high SNR (models/refocus/README.md, "What was
    tried": median gain ~0 dB at 8 bit / 30 000 e- even on its own training textures). A ratio
    to the input's own error counts every pair by how much it was improved, which is what a
    dB gain measures, whatever its noise or contrast. Both ratios are scale-free, so no
    per-sample normalisation is needed; the denominators are floored (1e-3) for pairs whose
    input is already the target (empty fields).
"""
from __future__ import annotations

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


_FLOOR = 1e-3


def loss_fn(out, target, inp):
    """(loss, mean L1 ratio, mean SSIM of out) of a batch [N,1,H,W]; inp = the network's input."""
    e_out = (out - target).abs().mean(dim=(1, 2, 3))
    e_in = (inp - target).abs().mean(dim=(1, 2, 3)).clamp(min=_FLOOR)
    rng = data_range(target)
    s_out = ssim(out, target, rng)
    s_in = (1 - ssim(inp, target, rng)).clamp(min=_FLOOR)
    l1_ratio = e_out / e_in
    return (l1_ratio + (1 - s_out) / s_in).mean(), l1_ratio.mean(), s_out.mean()
