"""Defocused / in-focus training pairs for the refocus network, on DeepFocus's synthetic optics.

Reuses scripts/deepfocus/synth.py: its optics sampler (`sample_optics`: NA, immersion,
wavelength, magnification, camera pixel), its object sources (`make_object`: tissue, nuclei,
cells, fibres, beads, edges, mixtures), its illumination (`scene`: bright/dark field,
contrast, non-uniformity), its scalar-pupil OTF (`otf`: exact defocus phase + random
astigmatism/coma/spherical + apodisation + pixel integration) and its camera (`camera`:
Poisson + read noise, black level, 8/10/12/16-bit; peak exposure up to PEAK_E_MAX) on the
512x512 periodic grid (GRID_PX; synth.py's grid is set to it before import). A pair renders the *same* object, illumination, aberrations and
exposure twice:

  input  = the digitised (noisy, rounded, clipped) image at defocus z;
  target = the noise-free image at z = 0 through the same pupil (same aberrations and
           apodisation: the network removes defocus, it does not correct the objective),
           in the same DN units (gain and black level), clipped to the ADC range.

Defocus range: the geometric blur radius r_def = |z| tan(asin(NA/n)) / p (p = sample-plane
pixel) is drawn 25 % uniform in [0, 3] px (near focus, so in-focus input stays in-focus) and
75 % uniform in [0, 32] px, sign of z at random. At the benchmark optics (10x/NA 0.3,
lambda 0.55 um, 3.45-um camera pixel: p = 0.345 um, DOF = 7.26 um, 0.91 px/um) one DOF is
6.6 px of r_def, so 32 px is +-4.8 DOF there; over the training optics one DOF spans 3..12 px,
i.e. the range is +-2.6..+-10 DOF depending on the objective/camera match. 5 % of pairs are
empty fields (the target is then flat: nothing to invent).

Optics: drawn per pair from a pool of OPTICS_POOL objective/camera combinations, themselves
drawn by synth.py's sampler from a fixed seed, so that the Wiener channel's defocus model
(built once per optics, scripts/refocus/wiener-channel.ts) is affordable.

Wiener channel (the network's second input, unet.py): the blind Wiener estimate of the
input with the pair's aberration-free optics, computed by src/refocus/wiener.ts itself — the
code inference runs — through scripts/refocus/wiener-channel.ts (`wiener_channel` below).

Normalisation (what the network sees): both images are mapped with the *input window's*
statistics, (v - mean) / max(std, 1e-3 * full scale, 0.5 DN); the Wiener channel too. At inference the statistics
are those of the whole image (src/refocus/normalise.ts); training crops (128 px of the 512-px
window) therefore see the scale of a larger field, like inference tiles do.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deepfocus"))
# 512 px, the size of an inference Wiener tile, so that the Wiener channel is estimated from as
# large a field in training as in use (on 256-px pairs it was unreliable; model card, v7/v11).
GRID_PX = 512
os.environ["FOCUSBOX_SYNTH_GRID_PX"] = str(GRID_PX)
import synth  # noqa: E402

assert synth.G == GRID_PX, "synth imported before pairs set its grid"
G = synth.G
MAX_BLUR_PX = 32.0
NEAR_BLUR_PX = 3.0
NEAR_FRAC = 0.25  # share of pairs with r_def in [0, NEAR_BLUR_PX]
EMPTY_FRAC = 0.05
# Every synth.py source (v3 and earlier used tissue, nuclei, cells, fibres, beads and edges).
SOURCES = synth.SOURCE_NAMES
# Its pupil apodisation share (DeepFocus v4 lowered synth.py's default to 0.35).
APODISED_FRACTION = 0.5
# Brightest exposure drawn (electrons at the frame's peak; synth.py's DeepFocus default is
# 30 000). Up to 100 000 e-, the full well of large-pixel CCD/sCMOS cameras or a few averaged
# frames, so that the relative loss sees enough high-SNR pairs where only deblurring helps
# (18 % of the 85 % normal-exposure draws lie above 30 000 e-).
PEAK_E_MAX = 100000.0
# Objective/camera combinations drawn per pair (from OPTICS_SEED): each costs the Wiener
# channel one defocus model (~0.2-0.5 s), and 2 000 pairs over 256 optics still see each
# kind of objective and camera many times.
OPTICS_POOL = 256
OPTICS_SEED = 271828
STD_FLOOR_REL = 1e-3  # of full scale
STD_FLOOR_DN = 0.5

_u = synth._u


def norm_stats(x: torch.Tensor, full: float):
    """(mean, scale) of a whole image, the contract of src/refocus/normalise.ts."""
    mean = x.mean()
    std = x.std(unbiased=False)
    return mean, torch.clamp(std, min=max(STD_FLOOR_REL * full, STD_FLOOR_DN))


def sample_pair(g, kinds=SOURCES, optics=None, r_def=None):
    """One pair: (input DN float [G,G], target DN float [G,G], meta)."""
    o = optics or synth.sample_optics(g)
    if r_def is None:
        r_def = _u(g, 0, NEAR_BLUR_PX) if _u(g) < NEAR_FRAC else _u(g, 0, MAX_BLUR_PX)
    z = r_def / o.defocus_px_per_um() * (1 if _u(g) < 0.5 else -1)
    empty = _u(g) < EMPTY_FRAC
    if empty:
        obj, name = torch.zeros(G, G), "empty"
    else:
        obj, name = synth.make_object(g, kinds)
    bright, bg, sig, illum = synth.scene(g, obj)
    aberr = _u(g, 0, 0.12) if _u(g) < 0.7 else 0.0
    state = g.get_state()
    ot = synth.otf(g, o, z, aberr, APODISED_FRACTION)
    g0 = torch.Generator()
    g0.set_state(state)
    ot0 = synth.otf(g0, o, 0.0, aberr, APODISED_FRACTION)  # same aberration and apodisation draws, in focus
    spec = torch.fft.fft2(sig)
    clean = (bg * illum + torch.fft.ifft2(spec * ot).real * illum).clamp(min=0)
    clean0 = (bg * illum + torch.fft.ifft2(spec * ot0).real * illum).clamp(min=0)
    ref = max(clean.max().item(), clean0.max().item(), 1e-6)
    cam = synth.camera(g, clean, ref, PEAK_E_MAX)
    target = (clean0 / ref * cam.peak_e * cam.gain + cam.black).clamp(0, cam.full)
    k = abs(z) / o.dof
    meta = dict(r_def=r_def, k=k, blur=o.blur_px(z), source=name, bits=cam.bits, full=cam.full, na=o.na, n=o.n, wl=o.wl, mag=o.mag, px=o.px, bright=bright)
    return cam.dn, target, meta


def optics_pool(size=OPTICS_POOL):
    """The optics pairs are drawn from (synth.sample_optics from OPTICS_SEED)."""
    g = torch.Generator().manual_seed(OPTICS_SEED)
    return [synth.sample_optics(g) for _ in range(size)]


def generate(n: int, seed: int, kinds=SOURCES, pool_size=OPTICS_POOL):
    """n pairs -> (dn uint16-valued int32 [n,G,G], y fp16 [n,1,G,G] normalised with the input's
    stats, metas with the stats as mean/scale). The network's input is `inputs(dn, metas, w)`."""
    g = torch.Generator().manual_seed(seed)
    pool = optics_pool(pool_size)
    dns = torch.empty(n, G, G, dtype=torch.int32)
    ys = torch.empty(n, 1, G, G, dtype=torch.float16)
    metas = []
    for i in range(n):
        dn, target, m = sample_pair(g, kinds, optics=pool[synth._ri(g, 0, pool_size - 1)])
        mean, scale = norm_stats(dn, m["full"])
        dns[i] = dn.round().to(torch.int32)
        ys[i, 0] = ((target - mean) / scale).clamp(-6e4, 6e4).to(torch.float16)
        m["mean"], m["scale"] = float(mean), float(scale)
        metas.append(m)
    return dns, ys, metas


def wiener_channel(dns, metas, procs=1):
    """Blind Wiener estimates (float32 DN [n,G,G]) of the inputs, by src/refocus/wiener.ts run
    through scripts/refocus/wiener-channel.ts in `procs` node processes."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    n = len(metas)
    with tempfile.TemporaryDirectory(prefix="refocus-wiener.") as tmp:
        dns.numpy().astype("<u2").tofile(os.path.join(tmp, "dn.u16"))
        optics = [dict(bits=m["bits"], na=m["na"], n=m["n"], wl=m["wl"], mag=m["mag"], px=m["px"]) for m in metas]
        with open(os.path.join(tmp, "pairs.json"), "w") as f:
            json.dump(dict(size=G, pairs=optics), f)
        cuts = [round(n * k / procs) for k in range(procs + 1)]
        tsx = os.path.join(root, "node_modules", ".bin", "tsx")
        script = os.path.join(root, "scripts", "refocus", "wiener-channel.ts")
        jobs = [subprocess.Popen([tsx, script, tmp, str(a), str(b)], cwd=root) for a, b in zip(cuts, cuts[1:]) if b > a]
        if any(j.wait() != 0 for j in jobs):
            raise RuntimeError("wiener-channel.ts failed")
        parts = [np.fromfile(os.path.join(tmp, f"wiener-{a}-{b}.f32"), dtype="<f4") for a, b in zip(cuts, cuts[1:]) if b > a]
    return torch.from_numpy(np.concatenate(parts).reshape(n, G, G))


def inputs(dns, metas, ws):
    """The network's input, fp16 [n,2,G,G]: the image and its Wiener estimate, normalised with the image's stats
    (assembled 64 pairs at a time, so that 512-px pairs need no full float32 copy)."""
    out = torch.empty(len(metas), 2, *dns.shape[1:], dtype=torch.float16)
    for a in range(0, len(metas), 64):
        b = min(a + 64, len(metas))
        mean = torch.tensor([m["mean"] for m in metas[a:b]]).view(-1, 1, 1)
        scale = torch.tensor([m["scale"] for m in metas[a:b]]).view(-1, 1, 1)
        out[a:b, 0] = (dns[a:b].float() - mean) / scale
        out[a:b, 1] = ((ws[a:b] - mean) / scale).clamp(-6e4, 6e4)
    return out


if __name__ == "__main__":
    import time

    torch.set_num_threads(1)
    t = time.time()
    dns, ys, metas = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 20, 0)
    dt = time.time() - t
    print(f"{len(metas)} pairs in {dt:.1f}s ({len(metas)/dt:.1f}/s)")
    t = time.time()
    ws = wiener_channel(dns, metas, procs=2)
    print(f"Wiener channel in {time.time() - t:.1f}s")
    for m in metas[:5]:
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items()})
