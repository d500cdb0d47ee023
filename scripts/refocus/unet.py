"""RefocusNet: a compact U-Net that maps one defocused image to its in-focus version.

Input float32 [N, 2, H, W]: channel 0 the defocused image x, channel 1 its blind Wiener
estimate w (src/refocus/wiener.ts with the objective's optics; w = x where the optics are
unknown or too coarsely sampled), both in *per-image normalised* units (v - mean) / std with
the mean and std of x over the whole image, taken by the caller (src/refocus/normalise.ts,
pairs.py), never per tile, so that overlapping tiles see the same scale and blend without
seams. Output float32 [N, 1, H, W], same units. H and W must be multiples of 32.

Why two channels: trained on the image alone, this U-Net denoises but does not learn the
mid-frequency deconvolution beyond one depth of field (models/refocus/README.md); the Wiener
filter does that deconvolution from physics and the network decides, per pixel, how far to
trust it and cleans its noise and ringing.

Layout (widths c = (c1..c5), default (16, 32, 64, 96, 128): 786 k parameters, 6.2 k MAC per pixel):
  pixel-unshuffle 2x2 -> 4 channels at H/2 (lossless; full-resolution convs would cost 4x)
  enc1  H/2   2 x conv3x3 c1
  enc2  H/4   conv3x3 stride 2 -> c2, conv3x3 c2
  enc3  H/8   conv3x3 stride 2 -> c3, conv3x3 c3
  enc4  H/16  conv3x3 stride 2 -> c4, conv3x3 c4
  mid   H/32  conv3x3 stride 2 -> c5, 2 x conv3x3 c5 (dilation 1, 2)
  dec4..dec1: bilinear x2 upsample, concat the skip, conv1x1 to the level width, conv3x3
  head  conv3x3 c1 -> 8, pixel-shuffle 2x2 -> 2 channels: a gate g and a residual r;
        output = x + sigmoid(g) * (w - x) + r.
Every conv is followed by BatchNorm (folded into the conv at export) and ReLU, except the head.
The receptive field (~ 400 px) covers blur discs up to the trained 32-px radius with context.
The gated residual makes both "leave it alone" and "take the Wiener estimate" easy answers.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_WIDTHS = (16, 32, 64, 96, 128)
MULTIPLE = 32  # H and W must be multiples of this
CHANNELS = 2  # input channels: the image and its Wiener estimate


def _cbr(cin, cout, k=3, stride=1, dil=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, dil * (k // 2), dilation=dil, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class RefocusNet(nn.Module):
    def __init__(self, widths=DEFAULT_WIDTHS):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.widths = tuple(widths)
        self.enc1 = nn.Sequential(_cbr(4 * CHANNELS, c1), _cbr(c1, c1))
        self.enc2 = nn.Sequential(_cbr(c1, c2, stride=2), _cbr(c2, c2))
        self.enc3 = nn.Sequential(_cbr(c2, c3, stride=2), _cbr(c3, c3))
        self.enc4 = nn.Sequential(_cbr(c3, c4, stride=2), _cbr(c4, c4))
        self.mid = nn.Sequential(_cbr(c4, c5, stride=2), _cbr(c5, c5), _cbr(c5, c5, dil=2))
        self.dec4 = nn.Sequential(_cbr(c5 + c4, c4, k=1), _cbr(c4, c4))
        self.dec3 = nn.Sequential(_cbr(c4 + c3, c3, k=1), _cbr(c3, c3))
        self.dec2 = nn.Sequential(_cbr(c3 + c2, c2, k=1), _cbr(c2, c2))
        self.dec1 = nn.Sequential(_cbr(c2 + c1, c1, k=1), _cbr(c1, c1))
        self.head = nn.Conv2d(c1, 8, 3, 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @staticmethod
    def _up(x, skip):
        return torch.cat([F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False), skip], dim=1)

    def forward(self, x):
        e1 = self.enc1(F.pixel_unshuffle(x, 2))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        m = self.mid(e4)
        d = self.dec4(self._up(m, e4))
        d = self.dec3(self._up(d, e3))
        d = self.dec2(self._up(d, e2))
        d = self.dec1(self._up(d, e1))
        gate, residual = F.pixel_shuffle(self.head(d), 2).split(1, dim=1)
        image, wiener = x.split(1, dim=1)
        return image + torch.sigmoid(gate) * (wiener - image) + residual


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_pixel(widths=DEFAULT_WIDTHS) -> float:
    """Multiply-accumulates per input pixel (convs only)."""
    m = RefocusNet(widths)
    total = 0.0
    hooks = []

    def hook(mod, inp, out):
        nonlocal total
        total += out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]

    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        m.eval()(torch.zeros(1, CHANNELS, 256, 256))
    for h in hooks:
        h.remove()
    return total / (256 * 256)


def fused_copy(model: RefocusNet) -> RefocusNet:
    """Eval-mode copy with every BatchNorm folded into its conv (for export and calibration)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval()
    for seq in [m.enc1, m.enc2, m.enc3, m.enc4, m.mid, m.dec4, m.dec3, m.dec2, m.dec1]:
        for i, block in enumerate(seq):
            conv, bn, relu = block
            seq[i] = nn.Sequential(fuse_conv_bn_eval(conv, bn), relu)
    return m


if __name__ == "__main__":
    import sys

    w = tuple(int(v) for v in sys.argv[1].split(",")) if len(sys.argv) > 1 else DEFAULT_WIDTHS
    print(f"widths {w}: {params(RefocusNet(w)):,} params, {macs_per_pixel(w)/1e3:.1f} kMAC/px")
