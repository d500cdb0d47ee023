"""Synthetic training data for the DeepFocus CNN (torch; Pillow for the JPEG flaw).

One sample = a 256x256 window of raw camera values (8..16-bit integers), its blur radius in
pixels and a validity flag.

Image formation, per sample:
  1. an in-focus "object" map on a 256x256 periodic grid (the window is one whole period, so the
     circular convolution below is exact) from one (or a mix of two) procedural sources:
     tissue (thresholded 1/f noise), nuclei (textured ellipses), cells (Voronoi membranes +
     nuclei), fibres (random smooth curves), beads (points convolved with a disc), edges
     (piecewise-constant polygons/gratings), lattices (2-D periodic grids, dot and hole arrays),
     targets (calibration-chart bar groups), grains (large soft-edged spheres), granular (packed
     or scattered Voronoi pebbles 3..30 px); dense or sparse;
     or an empty field;
  2. bright-field (absorption: bg * (1 - c*obj)) or dark-field/fluorescence (bg + c*obj) with
     random contrast c (0.1..1, 15 % 0.03..0.1), smooth illumination non-uniformity;
  3. incoherent imaging with a scalar pupil-function PSF: defocus phase
     (z/lambda) * (sqrt(n^2 - (NA rho)^2) - n) plus random Zernike astigmatism, coma and spherical
     terms and a random pupil apodisation; camera pixel integration (sinc);
  4. Poisson photon noise (peak 150..30000 e-, 15 % 20..150 e-), Gaussian read noise, black level, gain to a bit
     depth of 8, 10, 12 or 16 bits, rounding and clipping;
  5. optionally (`generate(..., flaw_fraction=F)`, `train.py --flaw-fraction F`; the shipped
     model was trained without): camera and illumination flaws for a fraction F of the windows,
     drawn from their own generator, with the noise then drawn from a per-window generator, so
     that the objects and optics are the same whatever F (F = 0 is the flawless control):
     strong off-centre shading applied after the blur (vignetting, a decentred lamp), column
     (and row) fixed-pattern offsets, and 8-bit JPEG compression. Real cameras have them; a
     model trained without them reads stripes and 8x8 blocks as fine structure
     (docs/benchmarks.md, "Recordings with flaws"; the model card says what training with them
     did).

Optics are drawn per sample: NA 0.1..0.95 (< n), immersion n in {1.0, 1.33, 1.515}, wavelength
0.40..0.70 um, magnification in {4, 10, 20, 40, 60, 100}, camera pixel 1.1..6.5 um, rejected
unless the sample-plane pixel e/M lies within 0.35..2.0x Nyquist (lambda / 4NA).

Label: the blur radius in window pixels, b = sqrt(r_def^2 + r_airy^2) with the geometric defocus
radius r_def = |z| tan(asin(NA/n)) / p and the Airy radius r_airy = 0.61 lambda / NA / p
(p = e/M, the sample-plane pixel). A pixel quantity is what an image shows whatever the
microscope: a label in DOF units would ask the model to guess the optics (the same image is
3 DOF with coarse pixels and 12 DOF with fine ones) and push it towards sample cues. r_def is
drawn 30 % in [0, 8] px and 70 % in [0, 100] px (a 200-px disc still fits the window).
k = |z| / DOF (DOF = lambda*n/NA^2 + n*e/(M*NA), src/optics/dof.ts) is kept in the metadata.

Validity: 0 for empty fields and for windows whose noise-free object signal has a standard
deviation below 0.5x the noise standard deviation (shot + read + quantisation); 1 otherwise.
"""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

G = int(os.environ.get("FOCUSBOX_SYNTH_GRID_PX", "256"))  # simulation grid (periodic) = window size
W = G
MAX_DEFOCUS_PX = 100.0
N_IMM = (1.0, 1.33, 1.515)
MAGS = (4.0, 10.0, 20.0, 40.0, 60.0, 100.0)


@dataclass
class Optics:
    na: float
    n: float
    wl: float  # um
    mag: float
    cam_px: float  # um, sensor plane
    px: float  # um, sample plane

    @property
    def dof(self) -> float:
        return self.wl * self.n / self.na**2 + self.n * self.px / self.na

    def defocus_px_per_um(self) -> float:
        """Geometric defocus blur radius (px) per um of |z|."""
        s = self.na / self.n
        return s / math.sqrt(1 - s * s) / self.px

    def blur_px(self, z_um: float) -> float:
        """The label: sqrt(r_def^2 + r_airy^2) in pixels."""
        r_def = abs(z_um) * self.defocus_px_per_um()
        r_airy = 0.61 * self.wl / self.na / self.px
        return math.sqrt(r_def * r_def + r_airy * r_airy)


def _u(g, a=0.0, b=1.0):
    return a + (b - a) * torch.rand((), generator=g).item()


def _lu(g, a, b):
    return math.exp(_u(g, math.log(a), math.log(b)))


def _ri(g, a, b):
    return int(torch.randint(a, b + 1, (), generator=g).item())


def sample_optics(g) -> Optics:
    while True:
        n = N_IMM[_ri(g, 0, 2)]
        na = _u(g, 0.1, min(0.95, 0.98 * n))
        wl = _u(g, 0.40, 0.70)
        mag = MAGS[_ri(g, 0, len(MAGS) - 1)]
        cam = _u(g, 1.1, 6.5)
        px = cam / mag
        ratio = px / (wl / (4 * na))
        if 0.35 <= ratio <= 2.0:
            return Optics(na, n, wl, mag, cam, px)


# ---------------------------------------------------------------- grids and helpers
_yy, _xx = torch.meshgrid(torch.arange(G, dtype=torch.float32), torch.arange(G, dtype=torch.float32), indexing="ij")
_f = torch.fft.fftfreq(G)  # cycles / pixel
_fy, _fx = torch.meshgrid(_f, _f, indexing="ij")
_fr = torch.sqrt(_fx**2 + _fy**2)


def _norm01(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo + 1e-12)


def _filtered_noise(g, beta, fc=None, aniso=None):
    """Gaussian noise shaped by 1/f^beta (optionally low-passed at fc cycles/px, optionally oriented)."""
    wn = torch.randn(G, G, generator=g)
    fr = _fr.clone()
    if aniso is not None:
        ang, ratio = aniso
        u = _fx * math.cos(ang) + _fy * math.sin(ang)
        v = -_fx * math.sin(ang) + _fy * math.cos(ang)
        fr = torch.sqrt(u**2 + (v * ratio) ** 2)
    filt = 1.0 / torch.clamp(fr, min=1.0 / G) ** beta
    if fc is not None:
        filt = filt * torch.exp(-((fr / fc) ** 2))
    filt[0, 0] = 0
    out = torch.fft.ifft2(torch.fft.fft2(wn) * filt).real
    return out / (out.std() + 1e-12)


def _blur_gauss(x, sigma):
    return torch.fft.ifft2(torch.fft.fft2(x) * torch.exp(-2 * (math.pi * sigma * _fr) ** 2)).real


def _splat(ys, xs, amps):
    img = torch.zeros(G * G)
    iy = torch.remainder(ys.round().long(), G)
    ix = torch.remainder(xs.round().long(), G)
    img.index_add_(0, iy * G + ix, amps)
    return img.view(G, G)


def _disc_otf(r):
    """OTF of a uniform disc of radius r px (area-sampled approximation via Airy-like jinc)."""
    if r < 0.5:
        return torch.ones(G, G)
    x = 2 * math.pi * r * _fr
    j = torch.special.bessel_j1(x) if hasattr(torch.special, "bessel_j1") else None
    if j is None:  # pragma: no cover
        return torch.exp(-2 * (math.pi * r / 2 * _fr) ** 2)
    out = torch.where(x > 1e-6, 2 * j / x.clamp(min=1e-6), torch.ones_like(x))
    return out


# ---------------------------------------------------------------- sources (object maps in [0,1])
def src_tissue(g, dense):
    a = _filtered_noise(g, _u(g, 0.8, 2.2))
    b = _filtered_noise(g, _u(g, 1.5, 3.0))
    t = _u(g, -0.5, 1.0) if dense else _u(g, 0.8, 2.0)
    obj = torch.sigmoid((a + 0.6 * b - t) * _lu(g, 1.0, 8.0))
    fine = _filtered_noise(g, _u(g, 0.0, 1.0), fc=_u(g, 0.05, 0.4))
    return _norm01(obj * (1 + _u(g, 0, 0.5) * fine))


def _ellipses(g, count, rmin, rmax, textured=True):
    obj = torch.zeros(G, G)
    for _ in range(count):
        r = _u(g, rmin, rmax)
        q = _u(g, 0.5, 1.0)
        th = _u(g, 0, math.pi)
        edge = _u(g, 0.02, 0.3)
        half = int(r * (1 + 6 * edge)) + 2
        off = torch.arange(-half, half + 1, dtype=torch.float32)
        cy, cx = _u(g, 0, G), _u(g, 0, G)
        iy = torch.remainder(off + int(cy), G).long()
        ix = torch.remainder(off + int(cx), G).long()
        dy = (off + int(cy) - cy)[:, None]
        dx = (off + int(cx) - cx)[None, :]
        u = dx * math.cos(th) + dy * math.sin(th)
        v = -dx * math.sin(th) + dy * math.cos(th)
        d = torch.sqrt((u / r) ** 2 + (v / (r * q)) ** 2)
        m = torch.sigmoid((1 - d) / edge) * _u(g, 0.4, 1.0)
        idx = (iy[:, None], ix[None, :])
        obj[idx] = torch.maximum(obj[idx], m)
    if textured:
        tex = _filtered_noise(g, _u(g, 0.5, 2.0), fc=_u(g, 0.05, 0.3))
        obj = obj * (1 + _u(g, 0.1, 0.6) * tex).clamp(min=0)
    return obj


def src_nuclei(g, dense):
    count = _ri(g, 25, 120) if dense else _ri(g, 1, 8)
    return _norm01(_ellipses(g, count, 3, 18))


def src_cells(g, dense):
    k = _ri(g, 15, 70) if dense else _ri(g, 3, 10)
    pts = torch.rand(k, 2, generator=g) * G
    h = torch.arange(0, G, 2, dtype=torch.float32)  # distance fields at half resolution, then upsampled
    dy = torch.remainder(h[None, :, None] - pts[:, 0, None, None] + G / 2, G) - G / 2
    dx = torch.remainder(h[None, None, :] - pts[:, 1, None, None] + G / 2, G) - G / 2
    d = torch.sqrt(dy**2 + dx**2)
    d1, i1 = d.min(0)
    d.scatter_(0, i1[None], float("inf"))
    both = torch.stack([d1, d.min(0).values])[None]
    d2 = torch.nn.functional.interpolate(both, size=(G, G), mode="bilinear", align_corners=False)[0]
    w = _u(g, 0.5, 3.0)
    membrane = torch.exp(-(((d2[1] - d2[0]) / w) ** 2))
    cyto = torch.exp(-((d2[0] / _u(g, 8, 40)) ** 2)) * _u(g, 0, 0.6)
    nuc = torch.exp(-((d2[0] / _u(g, 2, 8)) ** 4)) * _u(g, 0, 1.0)
    tex = _filtered_noise(g, 1.0, fc=_u(g, 0.05, 0.3))
    obj = membrane + cyto * (1 + 0.3 * tex) + nuc
    if not dense:
        obj = obj * (d2[0] < _u(g, 10, 40)).float()
    return _norm01(obj)


def src_fibres(g, dense):
    if _u(g) < 0.3:
        t = _filtered_noise(g, _u(g, 1.0, 2.0), aniso=(_u(g, 0, math.pi), _lu(g, 3, 20)))
        return _norm01(torch.relu(t - _u(g, -0.5, 1.0)))
    count = _ri(g, 20, 120) if dense else _ri(g, 1, 6)
    steps = 700
    ys, xs, amps = [], [], []
    for _ in range(count):
        ang = _u(g, 0, 2 * math.pi)
        turn = torch.cumsum(torch.randn(steps, generator=g) * _u(g, 0.0, 0.08), 0) + ang
        y = torch.cumsum(0.5 * torch.sin(turn), 0) + _u(g, 0, G)
        x = torch.cumsum(0.5 * torch.cos(turn), 0) + _u(g, 0, G)
        ys.append(y)
        xs.append(x)
        amps.append(torch.full((steps,), _u(g, 0.3, 1.0)))
    img = _splat(torch.cat(ys), torch.cat(xs), torch.cat(amps))
    img = _blur_gauss(img, _u(g, 0.4, 2.5))
    return _norm01(img.clamp(min=0))


def src_beads(g, dense):
    count = _ri(g, 200, 3000) if dense else _ri(g, 1, 25)
    ys = torch.rand(count, generator=g) * G
    xs = torch.rand(count, generator=g) * G
    # Uniform brightness, or many faint and few bright ones (fluorescent beads, star-like fields).
    amps = 0.3 + 0.7 * torch.rand(count, generator=g) if _u(g) < 0.5 else torch.rand(count, generator=g) ** _lu(g, 2, 8)
    img = _splat(ys, xs, amps)
    r = _lu(g, 0.3, 4.0)
    img = torch.fft.ifft2(torch.fft.fft2(img) * _disc_otf(r) * torch.exp(-2 * (math.pi * 0.3 * _fr) ** 2)).real
    return _norm01(img.clamp(min=0))


def src_edges(g, dense):
    obj = torch.zeros(G, G)
    if _u(g) < 0.3:
        per = _lu(g, 3, 40)
        th = _u(g, 0, math.pi)
        ph = (_xx * math.cos(th) + _yy * math.sin(th)) / per
        obj = (torch.remainder(ph, 1.0) < _u(g, 0.2, 0.8)).float()
    else:
        for _ in range(_ri(g, 3, 25) if dense else _ri(g, 1, 3)):
            th = _u(g, 0, 2 * math.pi)
            c = _u(g, 0, G) * math.cos(th) + _u(g, 0, G) * math.sin(th)
            half = ((_xx * math.cos(th) + _yy * math.sin(th)) > c).float()
            if _u(g) < 0.5:
                w = _u(g, 5, 80)
                half = half * ((_xx * math.cos(th) + _yy * math.sin(th)) < c + w).float()
            obj = obj + _u(g, -0.5, 1.0) * half
    return _norm01(obj)


def _soft(d, edge):
    """Soft indicator of d < 0 with an edge width of `edge` px."""
    return torch.sigmoid(-d / edge)


def _wrapped(c, a):
    """Periodic offset of grid coordinate c from a (in -G/2..G/2)."""
    return torch.remainder(c - a + G / 2, G) - G / 2


def src_lattice(g, dense):
    """2-D periodic structures (grids, sieves, woven threads, dot and hole arrays), period 3..40 px,
    oblique and slightly distorted: their defocus OTF zeros make contrast vanish and reverse, which
    the model must see to tell a far-defocused lattice from a focused one."""
    p1 = _lu(g, 3, 40)
    p2 = p1 * _lu(g, 0.7, 1.4)
    t1 = _u(g, 0, math.pi)
    t2 = t1 + math.pi / 2 + _u(g, -0.5, 0.5)
    warp = _u(g, 0, 0.3) * p1
    wy, wx = _filtered_noise(g, 3.0) * warp, _filtered_noise(g, 3.0) * warp
    x, y = _xx + wx, _yy + wy
    f1 = torch.remainder((x * math.cos(t1) + y * math.sin(t1)) / p1, 1.0)
    f2 = torch.remainder((x * math.cos(t2) + y * math.sin(t2)) / p2, 1.0)
    d1 = (0.5 - (f1 - 0.5).abs()) * p1  # distance (px) to the nearest line of family 1
    d2 = (0.5 - (f2 - 0.5).abs()) * p2
    edge = _lu(g, 0.3, 2.0)
    kind = _ri(g, 0, 2)
    if kind == 0:  # grid lines / woven threads
        w1, w2 = _u(g, 0.1, 0.7) * p1, _u(g, 0.1, 0.7) * p2
        obj = torch.maximum(_soft(d1 - w1 / 2, edge), _soft(d2 - w2 / 2, edge) * _u(g, 0.5, 1.0))
    else:  # dots (kind 1) or holes (kind 2)
        r = _u(g, 0.15, 0.45) * min(p1, p2)
        obj = _soft(torch.sqrt(d1**2 + d2**2) - r, edge)
        if kind == 2:
            obj = 1 - obj
    if not dense:  # a patch of lattice on an empty field
        patch = _filtered_noise(g, 3.0) > _u(g, 0.0, 1.2)
        obj = obj * patch.float()
    return _norm01(obj)


def src_targets(g, dense):
    """Calibration-target-like groups of parallel bars and rectangles (sharp, high-contrast,
    mostly sparse), axis-aligned or rotated."""
    obj = torch.zeros(G, G)
    for _ in range(_ri(g, 8, 30) if dense else _ri(g, 1, 6)):
        th = 0.0 if _u(g) < 0.5 else _u(g, 0, math.pi)
        th += (math.pi / 2) * _ri(g, 0, 1)
        w = _lu(g, 1.5, 20)
        bars, length = _ri(g, 1, 5), w * _u(g, 2, 7)
        cy, cx = _u(g, 0, G), _u(g, 0, G)
        dy, dx = _wrapped(_yy, cy), _wrapped(_xx, cx)
        u = dx * math.cos(th) + dy * math.sin(th)
        v = -dx * math.sin(th) + dy * math.cos(th)
        edge = _lu(g, 0.2, 1.0)
        for b in range(bars):
            vb = v - (b - (bars - 1) / 2) * 2 * w
            rect = _soft(u.abs() - length / 2, edge) * _soft(vb.abs() - w / 2, edge)
            obj = torch.maximum(obj, rect)
    return obj if obj.max() > 0 else src_targets(g, dense)


def src_grains(g, dense):
    """Large round objects 30..140 px across (pollen, eggs, spheroids, yeast at high power):
    projected-sphere thickness profiles, so their edges are intrinsically soft, with fine surface
    texture and optional spines; the model must not read the soft profile as defocus."""
    obj = torch.zeros(G, G)
    for _ in range(_ri(g, 4, 12) if dense else _ri(g, 1, 3)):
        r = _u(g, 15, 70)
        dy, dx = _wrapped(_yy, _u(g, 0, G)), _wrapped(_xx, _u(g, 0, G))
        d = torch.sqrt(dy**2 + dx**2) / r
        body = torch.sqrt((1 - d**2).clamp(min=0)) ** _u(g, 0.3, 1.5)
        if _u(g) < 0.5:  # spines: short bright rays around the rim
            ang = torch.atan2(dy, dx)
            spikes = torch.cos(ang * _ri(g, 10, 40)).clamp(min=0) ** 20
            body = torch.maximum(body, spikes * ((d > 1) & (d < 1 + _u(g, 0.05, 0.2))).float())
        obj = torch.maximum(obj, body * _u(g, 0.5, 1.0))
    tex = _filtered_noise(g, _u(g, 0.0, 1.0), fc=_u(g, 0.1, 0.4))
    return _norm01(obj * (1 + _u(g, 0.1, 0.5) * tex).clamp(min=0))


def src_granular(g, dense):
    """Packed or scattered small particles 3..30 px across (sand, gravel, starch, crystals,
    granular cytoplasm, dense bacteria): jittered-grid Voronoi pebbles, each with its own
    brightness, 3-D shading and a side light, separated by dark gaps. Their spectrum is flat up
    to the particle size, so a disc-like defocus PSF leaves fine ringing across the whole window
    that the model must not read as focus."""
    n = max(3, round(G / _lu(g, 3, 30)))  # cells per side, so the pattern stays periodic
    s = G / n
    offset = (0.5 + (torch.rand(2, n, n, generator=g) - 0.5) * _u(g, 0.6, 1.0)) * s  # seed inside its cell
    iy, ix = (_yy / s).floor().long(), (_xx / s).floor().long()
    d1 = torch.full((G, G), float("inf"))
    d2 = d1.clone()
    owner = torch.zeros(G, G, dtype=torch.long)
    sy, sx = torch.zeros(G, G), torch.zeros(G, G)
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            cy, cx = torch.remainder(iy + oy, n), torch.remainder(ix + ox, n)
            py = (iy + oy).float() * s + offset[0, cy, cx]
            px = (ix + ox).float() * s + offset[1, cy, cx]
            d = torch.sqrt((_yy - py) ** 2 + (_xx - px) ** 2)
            closer = d < d1
            d2 = torch.where(closer, d1, torch.minimum(d2, d))
            d1 = torch.where(closer, d, d1)
            owner = torch.where(closer, cy * n + cx, owner)
            sy, sx = torch.where(closer, py, sy), torch.where(closer, px, sx)
    level = torch.rand(n * n, generator=g) ** _lu(g, 0.5, 3.0)
    present = (torch.rand(n * n, generator=g) < (1.0 if dense else _u(g, 0.05, 0.5))).float()
    body = ((d2 - d1) / _u(g, 0.3, 0.25 * s)).clamp(max=1.0)  # 0 mid-gap, 1 inside a particle
    shade = (1 - (d1 / (0.75 * s)) ** 2).clamp(min=0) ** _u(g, 0.0, 1.0)
    light = _u(g, 0, 2 * math.pi)
    side = 1 + _u(g, 0, 0.6) * torch.tanh(((_xx - sx) * math.cos(light) + (_yy - sy) * math.sin(light)) / s)
    obj = (level * present)[owner] * body * shade * side
    tex = _filtered_noise(g, _u(g, 0.0, 1.5), fc=_u(g, 0.1, 0.4))
    return _norm01((obj * (1 + _u(g, 0, 0.4) * tex)).clamp(min=0))


SOURCES = {
    "tissue": src_tissue,
    "nuclei": src_nuclei,
    "cells": src_cells,
    "fibres": src_fibres,
    "beads": src_beads,
    "edges": src_edges,
    "lattice": src_lattice,
    "targets": src_targets,
    "grains": src_grains,
    "granular": src_granular,
}
SOURCE_NAMES = tuple(SOURCES)


def make_object(g, kinds=SOURCE_NAMES):
    name = kinds[_ri(g, 0, len(kinds) - 1)]
    dense = _u(g) < 0.6
    obj = SOURCES[name](g, dense)
    if _u(g) < 0.2:
        other = kinds[_ri(g, 0, len(kinds) - 1)]
        obj = _norm01(obj + _u(g, 0.2, 1.0) * SOURCES[other](g, _u(g) < 0.5))
    if _u(g) < 0.3:
        obj = obj ** _lu(g, 0.5, 2.0)
    return obj, name


# ---------------------------------------------------------------- PSF / OTF
APODISED_FRACTION = 0.35  # of DeepFocus samples; the rest keep a uniform pupil (a hard-rimmed defocus disc)


def otf(g, o: Optics, z_um: float, aberr_scale: float, apodised_fraction: float = APODISED_FRACTION):
    """Pixel-integrated OTF of a scalar pupil with defocus, random low-order aberrations and, for
    `apodised_fraction` of the draws, a Gaussian apodisation (a defocus disc with a soft rim)."""
    fc = o.na / o.wl * o.px  # pupil cutoff in cycles/pixel
    rho = _fr / fc
    inside = rho <= 1.0
    r = rho.clamp(max=1.0)
    th = torch.atan2(_fy, _fx)
    w_def = z_um / o.wl * (torch.sqrt(o.n**2 - (o.na * r) ** 2) - o.n)  # waves
    c = torch.randn(5, generator=g) * aberr_scale
    w_ab = (
        c[0] * r**2 * torch.cos(2 * th)
        + c[1] * r**2 * torch.sin(2 * th)
        + c[2] * (3 * r**3 - 2 * r) * torch.cos(th)
        + c[3] * (3 * r**3 - 2 * r) * torch.sin(th)
        + c[4] * (6 * r**4 - 6 * r**2 + 1)
    )
    apod = torch.exp(-_u(g, 0, 1.5) * r**2) if _u(g) < apodised_fraction else torch.ones_like(r)
    pupil = torch.where(inside, apod * torch.exp(2j * math.pi * (w_def + w_ab)), torch.zeros((), dtype=torch.complex64))
    psf = torch.fft.ifft2(pupil).abs() ** 2
    psf = psf / psf.sum()
    pix = torch.sinc(_fx) * torch.sinc(_fy)  # pixel integration
    return torch.fft.fft2(psf) * pix


# ---------------------------------------------------------------- one sample
def scene(g, obj):
    """Illumination of an object (values in [0, 1]): bright-field (absorption) or dark-field /
    fluorescence with random contrast and smooth non-uniformity. Returns (bright, background,
    signal, illumination): the in-focus image is (background + signal) * illumination."""
    bright = _u(g) < 0.5
    contrast = _lu(g, 0.1, 1.0) if _u(g) < 0.85 else _lu(g, 0.03, 0.1)
    bg = _u(g, 0.4, 0.95) if bright else _lu(g, 0.002, 0.15)
    sig = -bg * contrast * obj if bright else contrast * obj * (1 - bg)
    illum = 1 + _u(g, -0.15, 0.15) * (_xx / G - 0.5) + _u(g, -0.15, 0.15) * (_yy / G - 0.5) + _u(g, -0.2, 0.05) * (
        ((_xx - G / 2) ** 2 + (_yy - G / 2) ** 2) / (G * G / 2)
    )
    return bright, bg, sig, illum


class Camera(NamedTuple):
    dn: torch.Tensor  # digitised image (DN, rounded, clipped to [0, full])
    peak_e: float  # electrons at `ref`
    read_e: float  # read noise (electrons RMS)
    bits: int
    full: int  # 2**bits - 1
    gain: float  # DN per electron
    black: float  # black level (DN)
    electrons_mean: float  # mean expected electrons over the frame


def camera(g, clean, ref, peak_e_max=30000.0, pattern=None, own_noise=False):
    """Photon + read noise, gain, black level and quantisation of a noise-free image whose value
    `ref` maps to the drawn peak electron count (log-uniform up to `peak_e_max`).
    `pattern(dn, black)`, when given, returns a fixed-pattern offset (DN) added before rounding.
    With `own_noise` the noise is drawn from a generator seeded from `g`: Poisson sampling draws
    a value-dependent count of random numbers, which would otherwise shift every later sample
    of `g` when a flaw changes the image."""
    peak_e = _lu(g, 150, peak_e_max) if _u(g) < 0.85 else _lu(g, 20, 150)
    read_e = _lu(g, 0.5, 15)
    bits = (8, 10, 12, 16)[_ri(g, 0, 3)]
    full = 2**bits - 1
    e = clean / ref * peak_e
    gn = torch.Generator().manual_seed(_ri(g, 0, 2**31)) if own_noise else g
    electrons = torch.poisson(e, generator=gn) + torch.randn(*clean.shape, generator=gn) * read_e
    fill = _u(g, 0.3, 0.95)
    black = _u(g, 0, 0.06) * full
    gain = fill * full / peak_e
    dn = electrons * gain + black
    if pattern is not None:
        dn = dn + pattern(dn, black)
    dn = dn.round().clamp(0, full)
    return Camera(dn, peak_e, read_e, bits, full, gain, black, e.mean().item())


# ---------------------------------------------------------------- camera and illumination flaws
class Flaws(NamedTuple):
    shading: torch.Tensor | None  # multiplies the blurred image
    stripes_rel: float  # column offsets' SD as a fraction of the frame's mean DN above black (0 = none)
    rows: bool  # row offsets too (half the column SD)
    jpeg_quality: int  # 0 = none; else the image is requantised to 8 bits and JPEG-compressed


def draw_flaws(ga, fraction: float) -> Flaws | None:
    """Flaws real cameras add that the optics do not, drawn from `ga` (its own generator) for
    `fraction` of the windows, each flaw then with its own probability:
    - shading 1 + tilt - c * r^2 / max(r^2) about a centre anywhere within a window's width
      of this one, c up to 0.6 (a 60 % fall-off across the window), tilts up to +-30 %;
    - column fixed-pattern offsets of 0.2..5 % of the mean signal (sometimes rows too);
    - 8-bit JPEG at quality 50..95 (cheap microscope cameras, MJPEG webcams)."""
    if _u(ga) >= fraction:
        return None
    shading = None
    if _u(ga) < 0.5:
        cx, cy = _u(ga, -0.5, 1.5) * G, _u(ga, -0.5, 1.5) * G
        r2 = (_xx - cx) ** 2 + (_yy - cy) ** 2
        tilt = _u(ga, -0.3, 0.3) * (_xx / G - 0.5) + _u(ga, -0.3, 0.3) * (_yy / G - 0.5)
        shading = (1 + tilt - _u(ga, 0, 0.6) * r2 / r2.max()).clamp(min=0.2)
    stripes_rel = _lu(ga, 0.002, 0.05) if _u(ga) < 0.5 else 0.0
    rows = _u(ga) < 0.3
    jpeg_quality = _ri(ga, 50, 95) if _u(ga) < 0.4 else 0
    return Flaws(shading, stripes_rel, rows, jpeg_quality)


def flaw_names(f: Flaws | None) -> str:
    """'' or e.g. 'shading+stripes+jpeg', for the metadata."""
    if f is None:
        return ""
    names = [("shading", f.shading is not None), ("stripes", f.stripes_rel > 0), ("jpeg", f.jpeg_quality > 0)]
    return "+".join(n for n, on in names if on)


def fixed_pattern(ga, f: Flaws):
    """The column (and row) offsets of `f` as a function of the frame and black level (DN),
    for `camera`."""

    def pattern(dn, black):
        sd = max(0.5, f.stripes_rel * max(float(dn.mean()) - black, 0.0))
        out = torch.randn(1, G, generator=ga) * sd
        return out + torch.randn(G, 1, generator=ga) * sd / 2 if f.rows else out

    return pattern


def jpeg8(dn, full: int, quality: int):
    """Requantise to 8 bits and pass through a JPEG encoder and decoder (Pillow)."""
    d8 = (dn * (255.0 / full)).round().clamp(0, 255).to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(d8, mode="L").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return torch.from_numpy(np.asarray(Image.open(buf), dtype=np.float32).copy())


def sample(g, kinds=SOURCE_NAMES, empty_frac=0.12, optics: Optics | None = None, k: float | None = None, ga=None, flaw_fraction=0.0):
    """One window; `optics` and `k` fix the microscope and |z|/DOF (else drawn at random).
    With `ga`, a second generator, camera and illumination flaws are drawn from it for
    `flaw_fraction` of the windows and the noise from a per-window generator."""
    o = optics or sample_optics(g)
    if k is None:
        r_def = _u(g, 0, 8) if _u(g) < 0.3 else _u(g, 0, MAX_DEFOCUS_PX)
        k = r_def / o.defocus_px_per_um() / o.dof
    z = k * o.dof * (1 if _u(g) < 0.5 else -1)
    empty = _u(g) < empty_frac
    if empty:
        obj, name = torch.zeros(G, G), "empty"
    else:
        obj, name = make_object(g, kinds)
    bright, bg, sig, illum = scene(g, obj)
    ot = otf(g, o, z, _u(g, 0, 0.12) if _u(g) < 0.7 else 0.0)
    sig_b = torch.fft.ifft2(torch.fft.fft2(sig) * ot).real
    flaws = draw_flaws(ga, flaw_fraction) if ga is not None else None
    if flaws is not None and flaws.shading is not None:
        illum = illum * flaws.shading
    clean_sig = sig_b * illum
    clean = bg * illum + clean_sig
    clean = clean.clamp(min=0)
    ref = max(clean.max().item(), 1e-6)
    pattern = None
    if flaws is not None and flaws.stripes_rel > 0:
        pattern = fixed_pattern(ga, flaws)
    cam = camera(g, clean, ref, pattern=pattern, own_noise=ga is not None)
    dn, bits, gain = cam.dn, cam.bits, cam.gain
    if flaws is not None and flaws.jpeg_quality:
        dn, bits, gain = jpeg8(dn, cam.full, flaws.jpeg_quality), 8, cam.gain * 255.0 / cam.full
    # validity from SNR of the noise-free signal (in the output's DN)
    sig_dn = clean_sig / ref * cam.peak_e * gain
    noise_dn = math.sqrt(gain * gain * (cam.electrons_mean + cam.read_e**2) + 1 / 12)
    valid = (not empty) and sig_dn.std().item() > 0.5 * noise_dn
    meta = dict(k=k, blur=o.blur_px(z), source=name, valid=valid, flaws=flaw_names(flaws), bits=bits, na=o.na, n=o.n, wl=o.wl, mag=o.mag, px=o.px, bright=bright)
    return dn.to(torch.int32), meta


OFFSET = 32768  # windows are stored as int16 (value - OFFSET) to halve the memory


def to_float(xs16):
    return xs16.float() + OFFSET


FLAW_SEED_OFFSET = 1_000_003  # the flaws' generator is seeded with seed + this


def generate(n: int, seed: int, kinds=SOURCE_NAMES, flaw_fraction: float | None = None):
    """n samples -> (int16 tensor [n,1,W,W] of value - OFFSET, blur px [n], valid [n], metas).
    With `flaw_fraction` (None: the shipped model's data), that fraction of them get camera and
    illumination flaws (see draw_flaws)."""
    g = torch.Generator().manual_seed(seed)
    ga = None if flaw_fraction is None else torch.Generator().manual_seed(seed + FLAW_SEED_OFFSET)
    xs = torch.empty(n, 1, W, W, dtype=torch.int16)
    ks = torch.empty(n)
    vs = torch.empty(n)
    metas = []
    for i in range(n):
        x, m = sample(g, kinds, ga=ga, flaw_fraction=flaw_fraction or 0.0)
        xs[i, 0] = (x - OFFSET).to(torch.int16)
        ks[i] = m["blur"]
        vs[i] = float(m["valid"])
        metas.append(m)
    return xs, ks, vs, metas


if __name__ == "__main__":
    import sys
    import time

    torch.set_num_threads(2)
    t = time.time()
    xs, ks, vs, metas = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 50, 0)
    dt = time.time() - t
    print(f"{len(ks)} samples in {dt:.1f}s ({len(ks)/dt:.1f}/s); valid {vs.mean():.2f}")
    from collections import Counter

    print(Counter(m["source"] for m in metas))
