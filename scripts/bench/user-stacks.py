#!/usr/bin/python3
"""Z-stacks built like a user's, for `focusbox eval-af` on user-like data (docs/benchmarks.md,
"DeepFocus flat at its floor" and "The metric's own peak").

Each stack: a 512x512 crop of a scikit-image picture (gray), blurred per plane by a Gaussian of
sigma = sqrt(0.7^2 + (g |z - focus|)^2) px (g px/um: about the geometric defocus blur at 10x/NA 0.3
with 0.65-um pixels), Poisson shot noise (about 200 or 3000 photons at full scale) and Gaussian read
noise, 100 DN offset, written as a 16-bit ImageJ TIFF, then imported with `focusbox stack import`;
each set's "cal" stack is calibrated with `focusbox calibrate`. Every stack has its own seed, so a
set rebuilds identically.

Run (Debian's python3 with python3-skimage, python3-scipy, python3-imageio; after `npm run build`):
  /usr/bin/python3 scripts/bench/user-stacks.py SET OUT_DIR      SET: fresh1 fresh2 select3 fresh4
then e.g.
  node dist/cli/main.js eval-af --calibration OUT_DIR/cal.json --stack OUT_DIR/stk/moon ... \
    --method deepfocus --starts -15:15:5 --max-images 10 --json
fresh1, fresh2 and fresh4 are report sets (never tuned on; fresh2 only until session 42's
DeepFocus-rise rule), select3 a selection set.
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
from scipy import ndimage
from skimage import color, io, transform

warnings.filterwarnings("ignore")
from imageio.plugins import _tifffile as tf  # noqa: E402  (bundled tifffile: writes ImageJ hyperstacks)

D = "/usr/lib/python3/dist-packages/skimage/data/"
S0, OFFSET = 0.7, 100.0
DIM = dict(peak=200.0, bg=10.0)
BRIGHT = dict(peak=3000.0, bg=150.0)
OPTICS = ["--pixel-size-um", "0.65", "--magnification", "10", "--na", "0.3"]

# name, picture, crop (y, x) or None (centred), first z (um), step (um), planes, focus (um), g (px/um), light, read noise (DN), seed, extra
SETS = {
    "fresh1": [
        ("cal", "grass.png", (0, 0), 0.0, 1.0, 41, 20.0, 0.25, BRIGHT, 3.0, 7101, {}),
        ("moon", "moon.png", (0, 0), 0.0, 1.0, 41, 20.0, 0.25, BRIGHT, 2.0, 7102, {}),
        ("camera", "camera.png", (0, 0), -2.0, 1.0, 41, 17.4, 0.20, DIM, 4.0, 7103, {}),
        ("astronaut", "astronaut.png", (0, 0), 2.0, 1.0, 43, 22.6, 0.35, BRIGHT, 5.0, 7104, {}),
        ("hubble", "hubble_deep_field.jpg", (180, 240), -23.0, 1.0, 41, -3.0, 0.30, DIM, 3.0, 7105, {}),
        ("coffee", "coffee.png", None, -10.0, 1.5, 27, 9.3, 0.28, BRIGHT, 2.0, 7106, {}),
        ("rocket", "rocket.jpg", None, 25.0, -1.0, 45, 4.0, 0.22, DIM, 5.0, 7107, {}),
        ("coins", "coins.png", None, 1512.0, 1.0, 41, 1531.8, 0.33, BRIGHT, 3.0, 7108, {}),
        ("chelsea", "chelsea.png", None, -20.0, 1.0, 41, 0.0, 0.27, DIM, 2.0, 7109, {}),
    ],
    "fresh2": [
        ("cal", "brick.png", (0, 0), 0.0, 1.0, 41, 20.0, 0.27, BRIGHT, 3.0, 8101, {}),
        ("moto", "motorcycle_left.png", None, -5.0, 1.0, 41, 15.3, 0.30, DIM, 3.0, 8102, {}),
        ("page", "page.png", None, -22.0, 1.0, 41, -2.5, 0.25, BRIGHT, 2.0, 8103, {}),
        ("text", "text.png", None, -12.0, 1.5, 29, 8.0, 0.22, DIM, 4.0, 8104, {}),
        ("phantom", "phantom.png", None, 30.0, -1.0, 43, 9.6, 0.32, BRIGHT, 5.0, 8105, {}),
        ("hubble2", "hubble_deep_field.jpg", (0, 0), -18.0, 1.0, 41, 2.0, 0.26, DIM, 2.0, 8106, {}),
        ("clock", "clock_motion.png", None, 0.0, 1.0, 41, 21.7, 0.34, BRIGHT, 3.0, 8107, {}),
        ("color", "color.png", None, -20.0, 1.0, 41, 0.4, 0.24, DIM, 3.0, 8108, {}),
    ],
    "select3": [
        ("cal", "ihc.png", (0, 0), 0.0, 1.0, 41, 20.0, 0.26, BRIGHT, 3.0, 9101, {}),
        ("micro", "microaneurysms.png", None, -10.0, 1.0, 41, 11.2, 0.28, DIM, 3.0, 9102, {}),
        ("horse", "horse.png", None, 5.0, 1.0, 41, 25.0, 0.31, BRIGHT, 3.0, 9103, {}),
        ("logo", "logo.png", None, -30.0, 1.0, 43, -9.5, 0.24, BRIGHT, 4.0, 9104, {}),
        ("rocketm", "rocket.jpg", None, 0.0, 1.0, 41, 19.0, 0.33, BRIGHT, 3.0, 9105, {"motion": 13}),
        ("coffeem", "coffee.png", None, -15.0, 1.5, 29, 6.1, 0.22, DIM, 3.0, 9106, {"motion": 9}),
        ("retina", "retina.jpg", (500, 300), 10.0, -1.0, 41, -10.4, 0.29, DIM, 2.0, 9107, {}),
        ("cellup", "cell.png", None, 0.0, 1.0, 41, 20.0, 0.25, BRIGHT, 3.0, 9108, {"upscale": ((100, 100), 256)}),
    ],
    "fresh4": [
        ("cal", "gravel.png", (0, 0), 0.0, 1.0, 41, 20.0, 0.29, BRIGHT, 3.0, 10101, {"rot90": True}),
        ("motoR", "motorcycle_right.png", None, -8.0, 1.0, 41, 12.6, 0.27, BRIGHT, 3.0, 10102, {}),
        ("palette", "green_palette.png", None, -20.0, 1.0, 41, 0.0, 0.25, DIM, 3.0, 10103, {}),
        ("astroM", "astronaut.png", (0, 0), 5.0, 1.0, 41, 25.3, 0.30, BRIGHT, 3.0, 10104, {"motion": 11}),
        ("coinsUp", "coins.png", None, 0.0, 1.0, 41, 19.5, 0.26, DIM, 3.0, 10105, {"upscale": ((50, 100), 200)}),
        ("retina2", "retina.jpg", (150, 700), -30.0, 1.5, 29, -9.2, 0.23, DIM, 2.0, 10106, {}),
        ("hubbleM", "hubble_deep_field.jpg", (300, 500), 40.0, -1.0, 41, 19.8, 0.32, DIM, 3.0, 10107, {"motion": 9}),
    ],
}


def gray(name):
    a = io.imread(D + name)
    a = color.rgb2gray(a[..., :3]) if a.ndim == 3 else a / 255.0
    return a.astype(np.float64)


def prep(name, yx, extra):
    """The 512x512 object in [0, 1]: a crop at yx (centred when None; pictures under 512 px are first
    scaled up bilinearly), or a `upscale` crop scaled to 512 (an over-sampling camera), then an
    optional 90-degree turn and a diagonal motion blur of `motion` px (an object moving in exposure)."""
    a = gray(name)
    if "upscale" in extra:
        (y, x), n = extra["upscale"]
        obj = transform.resize(a[y:y + n, x:x + n], (512, 512), order=1, anti_aliasing=False)
    else:
        h, w = a.shape
        if min(h, w) < 512:
            s = 512.0 / min(h, w)
            a = transform.resize(a, (max(512, round(h * s)), max(512, round(w * s))), order=1, anti_aliasing=False)
            h, w = a.shape
        y, x = yx if yx is not None else ((h - 512) // 2, (w - 512) // 2)
        obj = a[y:y + 512, x:x + 512]
    if extra.get("rot90"):
        obj = np.rot90(obj).copy()
    if extra.get("motion"):
        obj = ndimage.convolve(obj, np.eye(extra["motion"]) / extra["motion"], mode="reflect")
    return obj


def make(path, pic, yx, first, step, n, focus, g, light, read, seed, extra):
    rng = np.random.default_rng(seed)
    obj = prep(pic, yx, extra)
    zs = first + step * np.arange(n)
    planes = []
    for z in zs:
        b = ndimage.gaussian_filter(obj, float(np.sqrt(S0 ** 2 + (g * abs(z - focus)) ** 2)), mode="reflect")
        photons = light["bg"] + b * light["peak"]
        img = rng.poisson(np.maximum(photons, 0)).astype(np.float64) + rng.normal(0, read, b.shape) + OFFSET
        planes.append(np.clip(img, 0, 65535).round().astype(np.uint16))
    tf.imsave(path, np.stack(planes)[:, None], imagej=True, metadata={"spacing": abs(step), "unit": "micron"})


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(SETS)}}} OUT_DIR")
    name, out = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fb = ["node", os.path.join(root, "dist", "cli", "main.js")]
    os.makedirs(os.path.join(out, "src"), exist_ok=True)
    truth = {}
    for name_, pic, yx, first, step, n, focus, g, light, read, seed, extra in SETS[name]:
        tif = os.path.join(out, "src", f"{name_}.tif")
        make(tif, pic, yx, first, step, n, focus, g, light, read, seed, extra)
        subprocess.run(fb + ["stack", "import", tif, "--out", os.path.join(out, "stk", name_), "--first", f"{first:g}", "--step", f"{step:g}", "--focus", f"{focus:g}"] + OPTICS, check=True)
        truth[name_] = {"picture": pic, "focusUm": focus, "firstUm": first, "stepUm": step, "planes": n, "gPxPerUm": g, "photons": light["peak"], "readDn": read, "seed": seed, **extra}
    subprocess.run(fb + ["calibrate", "--stack", os.path.join(out, "stk", "cal"), "--out", os.path.join(out, "cal.json")], check=True)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)


if __name__ == "__main__":
    main()
