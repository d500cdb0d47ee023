import type { ObjectiveConfig } from "../config/schema.js";
import type { Frame } from "../hardware/camera/types.js";
import { nextPow2, RealFft2d } from "../optics/fft2d.js";
import { coneTan } from "../optics/psf.js";
import { besselJ1 } from "../optics/psf-models.js";
import { brentMaximize } from "./brent.js";

/**
 * Depth from defocus by blur matching (Pentland 1987; Subbarao & Surya 1994): two images of one
 * field at different z differ by blur alone, so the sharper one, blurred by the right kernel,
 * reproduces the blurrier one — whatever the sample, which cancels out. The kernel's second
 * moment (per axis, px²) is the difference of the two blurs' second moments. With the blur
 * following the objective's geometric cone, the second moment of the PSF at z is
 * k·(z − zf)² + const, k = (tan θ / 2)² per sample-plane pixel² (σ of a disc of radius r is r/2),
 * so a pair (z_i, z_j) gives D_ij = k·(z_j − z_i)·(z_i + z_j − 2·zf): linear in focus zf.
 *
 * Kernels: a Gaussian and a uniform disc, the one that reproduces the image better taken (with a
 * Gaussian alone, focus read through a disc-like pupil blur falls short by 0.3–0.8 × the distance
 * from 100 µm out). Both images are binned to BLUR_THUMB_SIDE_PX on their long side first: far
 * from focus the blur is tens of pixels, and the whole field is needed to see it. Reflection
 * padding, the comparison MARGIN_FRACTION inside the edges. Accuracy and limits:
 * docs/benchmarks.md, "Blur matching starts the refinement far out".
 */

/** Long side (px) of the binned image blur matching compares. */
export const BLUR_THUMB_SIDE_PX = 64;

/** The binned, mean-normalised field of one image (its reflection-padded spectrum made on first use). */
export interface BlurThumb {
  /** Binned pixels / their mean, row-major `width × height`. */
  pixels: Float64Array;
  width: number;
  height: number;
  /** Camera pixels per thumbnail pixel (per axis). */
  binning: number;
  /** Mean squared difference of neighbouring pixels: the sharper of two images of one field has more. */
  gradientEnergy: number;
  padded?: PaddedSpectrum;
}

interface PaddedSpectrum {
  fft: RealFft2d;
  spectrum: Float64Array;
  /** Reflection padding around the field (px). */
  padPx: number;
}

/** Largest kernel tried, as a fraction of the thumbnail's long side: Gaussian σ, disc radius. */
const MAX_SIGMA_FRACTION = 0.22;
const MAX_RADIUS_FRACTION = 0.45;
/** Reflection padding around the field (fraction of its long side): beyond the largest disc. */
const PAD_FRACTION = 0.5;
/** Margin left out of the comparison (fraction of the long side), where padding shapes the blur. */
const MARGIN_FRACTION = 1 / 8;
/** Kernel size tolerance of the fit (thumbnail px). */
const SIZE_TOLERANCE_PX = 0.02;
const MAX_FIT_EVALUATIONS = 40;

/** The frame binned to BLUR_THUMB_SIDE_PX on its long side; null for a frame with no light (mean ≤ 0) or too small. */
export function blurThumb(frame: Frame): BlurThumb | null {
  const binning = Math.max(1, Math.ceil(Math.max(frame.width, frame.height) / BLUR_THUMB_SIDE_PX));
  const width = Math.floor(frame.width / binning);
  const height = Math.floor(frame.height / binning);
  if (width < 8 || height < 8) return null;
  const pixels = new Float64Array(width * height);
  let sum = 0;
  for (let y = 0; y < height * binning; y++) {
    const row = y * frame.width;
    const out = Math.floor(y / binning) * width;
    for (let bx = 0, x = 0; bx < width; bx++) {
      let s = 0;
      for (let i = 0; i < binning; i++, x++) s += frame.data[row + x];
      pixels[out + bx] += s;
      sum += s;
    }
  }
  const mean = sum / pixels.length;
  if (!(mean > 0)) return null;
  let energy = 0;
  for (let i = 0; i < pixels.length; i++) pixels[i] /= mean;
  for (let y = 0; y < height; y++)
    for (let x = 1; x < width; x++) energy += (pixels[y * width + x] - pixels[y * width + x - 1]) ** 2;
  for (let y = 1; y < height; y++)
    for (let x = 0; x < width; x++) energy += (pixels[y * width + x] - pixels[(y - 1) * width + x]) ** 2;
  return { pixels, width, height, binning, gradientEnergy: energy / pixels.length };
}

/** The thumbnail's reflection-padded spectrum (made once). */
function padded(t: BlurThumb): PaddedSpectrum {
  if (t.padded) return t.padded;
  const { width, height, pixels } = t;
  const padPx = Math.ceil(PAD_FRACTION * Math.max(width, height));
  const fft = new RealFft2d(nextPow2(width + 2 * padPx), nextPow2(height + 2 * padPx));
  const buffer = new Float64Array(fft.width * fft.height);
  for (let y = 0; y < fft.height; y++) {
    const sy = reflect(y - padPx, height);
    for (let x = 0; x < fft.width; x++) buffer[y * fft.width + x] = pixels[sy * width + reflect(x - padPx, width)];
  }
  t.padded = { fft, spectrum: fft.forward(buffer), padPx };
  return t.padded;
}

/** Index i folded into [0, n) by reflection about the edges (… 1 0 | 0 1 … n−1 | n−1 n−2 …). */
function reflect(i: number, n: number): number {
  const m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

type Kernel = "gaussian" | "disc";

/** Radial frequency (cycles/px) of each bin of a half spectrum, per FFT size. */
const radialFrequencies = new Map<string, Float64Array>();

function radialFrequency(fft: RealFft2d): Float64Array {
  const key = `${fft.width}x${fft.height}`;
  let f = radialFrequencies.get(key);
  if (!f) {
    f = new Float64Array(fft.height * fft.halfWidth);
    for (let ky = 0; ky < fft.height; ky++) {
      const fy = (ky <= fft.height / 2 ? ky : ky - fft.height) / fft.height;
      for (let kx = 0; kx < fft.halfWidth; kx++) f[ky * fft.halfWidth + kx] = Math.hypot(kx / fft.width, fy);
    }
    radialFrequencies.set(key, f);
  }
  return f;
}

/** 2·J₁(x)/x, the uniform disc's OTF, tabulated every DISC_TABLE_STEP up to the largest disc × the highest frequency. */
const DISC_TABLE_STEP = 0.005;
const DISC_TABLE = Float64Array.from({ length: Math.ceil((2 * Math.PI * MAX_RADIUS_FRACTION * BLUR_THUMB_SIDE_PX * Math.SQRT1_2) / DISC_TABLE_STEP) + 2 }, (_, i) => {
  const x = i * DISC_TABLE_STEP;
  return x === 0 ? 1 : (2 * besselJ1(x)) / x;
});

/** Optical transfer function of a kernel of size `sizePx` (Gaussian σ or disc radius) at radial frequency `f` (cycles/px). */
function kernelOtf(kernel: Kernel, sizePx: number, f: number): number {
  if (kernel === "gaussian") return Math.exp(-2 * Math.PI ** 2 * sizePx ** 2 * f ** 2);
  const u = (2 * Math.PI * sizePx * f) / DISC_TABLE_STEP;
  const i = Math.min(DISC_TABLE.length - 2, Math.floor(u));
  return DISC_TABLE[i] + (u - i) * (DISC_TABLE[i + 1] - DISC_TABLE[i]);
}

/** Mean squared difference, inside the margin, between `sharp` blurred by the kernel and `blurry`. */
function mismatch(sharp: BlurThumb, blurry: BlurThumb, kernel: Kernel, sizePx: number): number {
  const { width, height } = sharp;
  const { fft, spectrum, padPx } = padded(sharp);
  const f = radialFrequency(fft);
  const filtered = new Float64Array(spectrum.length);
  for (let k = 0; k < f.length; k++) {
    const g = kernelOtf(kernel, sizePx, f[k]);
    filtered[2 * k] = spectrum[2 * k] * g;
    filtered[2 * k + 1] = spectrum[2 * k + 1] * g;
  }
  const margin = Math.round(MARGIN_FRACTION * Math.max(width, height));
  const image = fft.inverse(filtered, { overwriteInput: true, firstRow: padPx + margin, rowCount: height - 2 * margin });
  let sum = 0;
  let n = 0;
  for (let y = margin; y < height - margin; y++)
    for (let x = margin; x < width - margin; x++) {
      const d = image[(y + padPx) * fft.width + x + padPx] - blurry.pixels[y * width + x];
      sum += d * d;
      n++;
    }
  return sum / n;
}

/** The kernel size that best turns `sharp` into `blurry`: its second moment per axis (px²) and the mismatch left. */
function bestKernel(sharp: BlurThumb, blurry: BlurThumb, kernel: Kernel): { secondMomentPx2: number; mismatch: number } {
  const side = Math.max(sharp.width, sharp.height);
  const search = brentMaximize(0, (kernel === "gaussian" ? MAX_SIGMA_FRACTION : MAX_RADIUS_FRACTION) * side, { toleranceUm: SIZE_TOLERANCE_PX, maxEvaluations: MAX_FIT_EVALUATIONS });
  let step = search.next(Number.NaN);
  while (!step.done) step = search.next(-mismatch(sharp, blurry, kernel, step.value));
  const { x, fx } = step.value;
  return { secondMomentPx2: kernel === "gaussian" ? x * x : (x * x) / 4, mismatch: -fx };
}

/**
 * How much blurrier `b` is than `a`: the second moment per axis (camera px²) of the kernel that
 * turns the sharper of the two (by gradient energy) into the other, positive when `b` is the blurrier.
 * @throws RangeError when the two were binned differently (frames of different sizes).
 */
export function blurDifferencePx2(a: BlurThumb, b: BlurThumb): number {
  if (a.binning !== b.binning || a.width !== b.width || a.height !== b.height) throw new RangeError("blur matching needs frames of the same size");
  // Blur lowers the gradient energy of a field: the sharper image is the one with more.
  const [sharp, blurry, sign] = a.gradientEnergy >= b.gradientEnergy ? [a, b, 1] : [b, a, -1];
  const fits = (["gaussian", "disc"] as const).map((kernel) => bestKernel(sharp, blurry, kernel));
  const best = fits[0].mismatch <= fits[1].mismatch ? fits[0] : fits[1];
  return sign * best.secondMomentPx2 * a.binning ** 2;
}

/**
 * Focus z (µm) from images of one field at three or more z, by least squares over every pair's
 * blur difference (see the module comment); `growthPx2PerUm2` is k for camera pixels. Null with
 * fewer than three images (or images at one z).
 */
export function blurMatchFocusUm(images: readonly { zUm: number; thumb: BlurThumb }[], growthPx2PerUm2: number): number | null {
  if (images.length < 3) return null;
  let num = 0;
  let den = 0;
  for (let i = 0; i < images.length; i++)
    for (let j = i + 1; j < images.length; j++) {
      const [p, q] = [images[i], images[j]];
      const a = -2 * (q.zUm - p.zUm);
      const y = blurDifferencePx2(p.thumb, q.thumb) / growthPx2PerUm2 - (q.zUm ** 2 - p.zUm ** 2);
      num += a * y;
      den += a * a;
    }
  const focusUm = num / den;
  return den > 0 && Number.isFinite(focusUm) ? focusUm : null;
}

/**
 * k of `blurMatchFocusUm` for an objective and camera pixel pitch (sensor plane, µm): the
 * per-axis second moment of the geometric defocus disc, (|z|·tan θ / 2)², in camera px² per µm²
 * of defocus. Undefined when the pixel pitch is unknown (0) or the optics impossible (NA above
 * the immersion index).
 */
export function blurGrowthPx2PerUm2Of(objective: ObjectiveConfig, cameraPixelUm: number): number | undefined {
  const k = ((coneTan(objective) * objective.magnification) / (2 * cameraPixelUm)) ** 2;
  return cameraPixelUm > 0 && Number.isFinite(k) && k > 0 ? k : undefined;
}
