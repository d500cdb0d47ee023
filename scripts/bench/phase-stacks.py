#!/usr/bin/python3
"""Z-stacks of unstained cells in bright field, for `focusbox eval-af` and `focusbox score`
(docs/benchmarks.md, "Unstained cells in bright field").

The simulator and the DeepFocus training images are incoherent images of intensity objects. An
unstained cell is a phase object: in bright field it shows almost no contrast in focus, and
contrast that grows and changes sign with defocus (a dark rim on one side of focus, a bright one
on the other), from the condenser's partial coherence. This script images such samples with
partially coherent Köhler illumination (Abbe's method): for each point of the condenser aperture
(sigma = condenser NA / objective NA) a tilted plane wave through the complex transmission
t(x) = a(x)·exp(i·phi(x)), the objective's defocused pupil (scalar, n = 1), |field|² summed over
the points. Then Poisson shot noise, Gaussian read noise and 8-bit output, written as PNG planes
with a stack.json (focusUm, pixelSizeUm, objective) that `focusbox` reads directly.

Samples (procedural, seeded): `phase` — cell bodies as phase domes of 0.8–2 rad with a
nucleus (+0.5 rad) and granules (0.2–0.5 rad), no absorption; `phase-sparse` — the same, a few
cells; `stained` — the same cells absorbing (nuclei to 45 % transmission, cytoplasm 85 %) with a
quarter of the phase: an intensity-like control through the same optics.

Run (Debian's python3 with numpy and python3-imageio):
  /usr/bin/python3 scripts/bench/phase-stacks.py SET OUT_DIR [SIGMA ...]      SET: select report
writes OUT_DIR/<sample>-s<sigma>/ for sigma in 0.3 and 0.7 (or those given), 10x/NA 0.3,
3.45-um camera pixels (0.345 um in the sample plane), 384x288 frames, z -110..110 um in 1-um
planes, focus between planes at 0.37 um. About a minute per stack on 2 cores.
"""
import json
import os
import sys

import imageio
import numpy as np

NA, MAG, WAVELENGTH_UM, CAMERA_PIXEL_UM = 0.3, 10, 0.55, 3.45
PIXEL_UM = CAMERA_PIXEL_UM / MAG
W, H = 384, 288
GRID_W, GRID_H = 640, 512  # frame + the widest defocus blur (about 95 px at 110 um) on each side
Z_FIRST_UM, Z_LAST_UM, Z_STEP_UM, FOCUS_UM = -110, 110, 1.0, 0.37
PHOTONS_AT_BACKGROUND, READ_NOISE_DN, BACKGROUND_DN = 2000.0, 1.5, 150.0
# Seeds per set: "select" was looked at to choose the valley rule (src/autofocus/phase-sample.ts), "report" only to report it.
SEEDS = {"select": {"phase": 9101, "phase-sparse": 9102, "stained": 9103}, "report": {"phase": 9201, "phase-sparse": 9202, "stained": 9203}}


def cells(kind, rng):
    """Complex transmission of a field of cells on the grid."""
    yy, xx = np.mgrid[0:GRID_H, 0:GRID_W] * PIXEL_UM
    phase = np.zeros((GRID_H, GRID_W))
    absorb = np.zeros((GRID_H, GRID_W))
    n = 10 if kind == "phase-sparse" else 70
    for _ in range(n):
        cx, cy = rng.uniform(0, GRID_W * PIXEL_UM), rng.uniform(0, GRID_H * PIXEL_UM)
        rx, ry = rng.uniform(8, 20), rng.uniform(6, 14)
        ang = rng.uniform(0, np.pi)
        dx, dy = xx - cx, yy - cy
        u = (dx * np.cos(ang) + dy * np.sin(ang)) / rx
        v = (-dx * np.sin(ang) + dy * np.cos(ang)) / ry
        r2 = u * u + v * v
        dome = np.sqrt(np.clip(1 - r2, 0, None))
        phase += rng.uniform(0.8, 2.0) * dome
        absorb += 0.15 * (r2 < 1)
        nr2 = ((dx - 0.2 * rx * rng.uniform(-1, 1)) ** 2 + (dy - 0.2 * ry * rng.uniform(-1, 1)) ** 2) / (0.35 * min(rx, ry)) ** 2
        nucleus = np.sqrt(np.clip(1 - nr2, 0, None))
        phase += 0.5 * nucleus
        absorb += 0.45 * (nr2 < 1)
        for _ in range(int(rng.integers(5, 25))):
            gx, gy = cx + rng.normal(0, rx / 2.5), cy + rng.normal(0, ry / 2.5)
            rg = rng.uniform(0.3, 0.8)
            g2 = ((xx - gx) ** 2 + (yy - gy) ** 2) / rg**2
            phase += rng.uniform(0.2, 0.5) * np.sqrt(np.clip(1 - g2, 0, None))
    if kind == "stained":
        return np.sqrt(np.clip(1 - absorb, 0.2, 1)) * np.exp(0.25j * phase)
    return np.exp(1j * phase)


def source_points(sigma):
    """Condenser aperture points (spatial frequencies, 1/um): a square lattice inside sigma·NA/lambda."""
    radius = sigma * NA / WAVELENGTH_UM
    k = 3
    pts = [(i, j) for i in range(-k, k + 1) for j in range(-k, k + 1) if i * i + j * j <= k * k]
    return [(radius * i / k, radius * j / k) for i, j in pts]


def image(spectrum, zUm, sigma):
    """Noise-free bright-field intensity (background 1) at defocus zUm."""
    fy = np.fft.fftfreq(GRID_H, PIXEL_UM)[:, None]
    fx = np.fft.fftfreq(GRID_W, PIXEL_UM)[None, :]
    k0 = 1 / WAVELENGTH_UM
    out = np.zeros((GRID_H, GRID_W))
    pts = source_points(sigma)
    for sx, sy in pts:
        gx, gy = fx + sx, fy + sy
        rho2 = gx * gx + gy * gy
        pupil = rho2 <= (NA / WAVELENGTH_UM) ** 2
        kz = np.sqrt(np.clip(k0 * k0 - rho2, 0, None))
        field = np.fft.ifft2(spectrum * pupil * np.exp(2j * np.pi * zUm * (kz - k0)))
        out += np.abs(field) ** 2
    out /= len(pts)
    y0, x0 = (GRID_H - H) // 2, (GRID_W - W) // 2
    return out[y0 : y0 + H, x0 : x0 + W]


def make(out_dir, kind, seed, sigma):
    rng = np.random.default_rng(seed)
    spectrum = np.fft.fft2(cells(kind, rng))
    noise = np.random.default_rng(seed * 10 + int(sigma * 10))
    gain = BACKGROUND_DN / PHOTONS_AT_BACKGROUND
    os.makedirs(out_dir, exist_ok=True)
    planes = []
    for zUm in np.arange(Z_FIRST_UM, Z_LAST_UM + Z_STEP_UM / 2, Z_STEP_UM):
        mean = image(spectrum, zUm - FOCUS_UM, sigma) * PHOTONS_AT_BACKGROUND
        dn = noise.poisson(np.clip(mean, 0, None)) * gain + noise.normal(0, READ_NOISE_DN, mean.shape)
        name = f"z{zUm:+09.2f}.png"
        imageio.imwrite(os.path.join(out_dir, name), np.clip(np.rint(dn), 0, 255).astype(np.uint8))
        planes.append({"file": name, "zUm": round(float(zUm), 4)})
    manifest = {"planes": planes, "focusUm": FOCUS_UM, "pixelSizeUm": PIXEL_UM, "objective": {"magnification": MAG, "na": NA}}
    with open(os.path.join(out_dir, "stack.json"), "w") as f:
        json.dump(manifest, f, indent=2)


def main():
    seeds, out = SEEDS[sys.argv[1]], sys.argv[2]
    sigmas = [float(s) for s in sys.argv[3:]] or [0.3, 0.7]
    for kind, seed in seeds.items():
        for sigma in sigmas:
            d = os.path.join(out, f"{kind}-s{sigma:g}")
            make(d, kind, seed, sigma)
            print(d, flush=True)


if __name__ == "__main__":
    main()
