"""DeepFocus CNN: raw 256x256 window -> [blur radius in px, validity logit].

Four views of the per-window-normalised window feed four small conv branches:
  * fine:   the full-resolution centre 64x64 (detail near focus),
  * mid:    the centre 128x128 average-pooled 2x (64x64),
  * coarse: the whole 256x256 window average-pooled 4x (64x64; blur discs up to ~200 px across,
            i.e. far defocus, which a 128-px full-resolution window cannot contain),
  * wide:   the whole window average-pooled 8x (32x32). Each branch's receptive field is 45 of
            its input pixels, so only this one sees a whole far-defocus disc (a blurred isolated
            object is a sharp-rimmed disc whose *size*, not its rim, carries the defocus).
Each branch: 7 conv3x3 layers (3 with stride 2) + BatchNorm (folded at export) + ReLU, global
average pool; the feature vectors are concatenated into a 2-layer head.
Normalisation (x - mean) / (std + 1e-3) over each window is part of the graph, so raw camera
values of any bit depth go in. The validity logit is capped at 10*(std - 0.5): a window whose
pixel SD is below half a count (black, saturated or exactly uniform) is always invalid.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

WINDOW = 256
BRANCHES = ("fine", "mid", "coarse", "wide")
EPS = 1e-3
MIN_STD = 0.5  # raw counts


def _branch(c):
    layers = []
    spec = [(1, c[0], 1), (c[0], c[1], 2), (c[1], c[1], 1), (c[1], c[2], 2), (c[2], c[2], 1), (c[2], c[3], 2), (c[3], c[3], 1)]
    for cin, cout, stride in spec:
        layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    layers.append(nn.AdaptiveAvgPool2d(1))
    return nn.Sequential(*layers)


class DeepFocusNet(nn.Module):
    def __init__(self, width: float = 1.0):
        super().__init__()
        c = [max(4, int(round(k * width))) for k in (16, 32, 48, 64)]
        self.width = width
        self.fine = _branch(c)
        self.mid = _branch(c)
        self.coarse = _branch(c)
        self.wide = _branch(c)
        self.head = nn.Sequential(nn.Linear(len(BRANCHES) * c[3], 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        d = x - mean
        std = torch.sqrt((d * d).mean(dim=(2, 3), keepdim=True))
        xn = d / (std + EPS)
        q, e = WINDOW // 4, 3 * WINDOW // 8
        fine = self.fine(xn[:, :, e : WINDOW - e, e : WINDOW - e]).flatten(1)
        mid = self.mid(F.avg_pool2d(xn[:, :, q : WINDOW - q, q : WINDOW - q], 2)).flatten(1)
        coarse = self.coarse(F.avg_pool2d(xn, 4)).flatten(1)
        wide = self.wide(F.avg_pool2d(xn, 8)).flatten(1)
        out = self.head(torch.cat([fine, mid, coarse, wide], dim=1))
        # a window whose pixels vary by less than half a count (black, saturated, uniform) has no texture
        floor = (std.flatten(1) - MIN_STD) * 10.0
        return torch.cat([out[:, :1], torch.minimum(out[:, 1:], floor)], dim=1)


def fused_copy(model: DeepFocusNet) -> DeepFocusNet:
    """Eval-mode copy with every BatchNorm folded into the preceding conv (for export/calibration)."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval()
    for name in BRANCHES:
        mods = list(getattr(m, name))
        out = []
        i = 0
        while i < len(mods):
            if isinstance(mods[i], nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                out.append(fuse_conv_bn_eval(mods[i], mods[i + 1]))
                i += 2
            else:
                out.append(mods[i])
                i += 1
        setattr(m, name, nn.Sequential(*out))
    return m
