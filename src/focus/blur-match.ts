import type { ObjectiveConfig } from "../config/schema.js";
import type { Frame } from "../hardware/camera/types.js";
import { nextPow2, RealFft2d } from "../optics/fft2d.js";
import { coneTan } from "../optics/psf.js";
import { besselJ1 } from "../optics/psf-models.js";
import { brentMaximize } from "./brent.js";
import { runSearchSync } from "./search.js";
import { binnedSize } from "../image/bin.js";
import { correlation, dot, meanOf, median } from "./stats.js";

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
 * padding, the comparison MARGIN_FRACTION inside the edges. A focus drive seldom travels exactly
 * along the optical axis, so the field slides sideways as z changes; a misregistered pair would
 * read as extra blur. Where their cross-correlation peaks a whole thumbnail pixel or more off
 * zero (a symmetric blur does not move that peak) and the sharper image moved there is the better
 * start, it is moved onto the blurrier one, by the shift that lets the fitted kernel reproduce it
 * best (`registeredFit`). Accuracy and limits:
 * docs/benchmarks.md, "Blur matching starts the refinement far out".
 */

/** Long side (px) of the binned image blur matching compares. */
export const BLUR_THUMB_SIDE_PX = 64;
/** Long side (px) of the finer binned image that locates a phase sample's contrast sign change (contrast-inversion.ts). */
export const FINE_THUMB_SIDE_PX = 256;

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
  /** `thumbDetail`, once made, and the σ it was made with. */
  detail?: { sigmaPx: number; values: Float64Array };
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
/** Largest whole-pixel sideways shift between two images looked for, as a fraction of the thumbnail's long side (4 px of 64; never beyond the margin). */
const MAX_SHIFT_FRACTION = 1 / 16;
/**
 * A pair is registered only where the correlation peak lowers the mismatch to this fraction or
 * less. Unslid pairs often peak off zero (a sample's structure, noise) but gain nothing there:
 * 0.94 at best over 311 such pairs of 14 held-out and picture stacks; the same stacks slid by
 * 0.1–0.15 camera px per µm of z went to 0.07–0.9 in 169 of 423 pairs (docs/benchmarks.md,
 * "A focus drive that slides the field").
 */
const REGISTRATION_GAIN = 0.9;
/** Shift tolerance of the refinement (thumbnail px) and its evaluations per axis. */
const SHIFT_TOLERANCE_PX = 0.05;
const MAX_SHIFT_EVALUATIONS = 8;

/** The frame binned to BLUR_THUMB_SIDE_PX on its long side; null for a frame with no light (mean ≤ 0) or too small. */
export function blurThumb(frame: Frame): BlurThumb | null {
  const binning = Math.max(1, Math.ceil(Math.max(frame.width, frame.height) / BLUR_THUMB_SIDE_PX));
  const { width, height } = binnedSize(frame, binning);
  if (width < 8 || height < 8) return null;
  const pixels = new Float64Array(width * height);
  for (let y = 0; y < height * binning; y++) {
    const row = y * frame.width;
    const out = Math.floor(y / binning) * width;
    for (let bx = 0, x = 0; bx < width; bx++) {
      let s = 0;
      for (let i = 0; i < binning; i++, x++) s += frame.data[row + x];
      pixels[out + bx] += s;
    }
  }
  return normalisedThumb(pixels, width, height, binning);
}

/**
 * The frame binned to FINE_THUMB_SIDE_PX on its long side (at least 2 × 2), twice: from the
 * pixels of each bin whose x + y is even, and from those whose x + y is odd. The two halves see
 * the same structure (both centred on the bin) through independent noise, so a product of one's
 * detail with the other's carries no noise power (contrast-inversion.ts). Null as `blurThumb`.
 */
export function splitThumbs(frame: Frame): SplitThumbs | null {
  const binning = Math.max(2, Math.ceil(Math.max(frame.width, frame.height) / FINE_THUMB_SIDE_PX));
  const { width, height } = binnedSize(frame, binning);
  if (width < 8 || height < 8) return null;
  const [evenSums, oddSums] = [new Float64Array(width * height), new Float64Array(width * height)];
  const data = frame.data;
  for (let y = 0; y < height * binning; y++) {
    const row = y * frame.width;
    const out = Math.floor(y / binning) * width;
    for (let bx = 0, x0 = row; bx < width; bx++, x0 += binning) {
      const end = x0 + binning;
      const first = x0 + ((x0 - row + y) & 1);
      let even = 0;
      let odd = 0;
      for (let x = first; x < end; x += 2) even += data[x];
      for (let x = first === x0 ? x0 + 1 : x0; x < end; x += 2) odd += data[x];
      evenSums[out + bx] += even;
      oddSums[out + bx] += odd;
    }
  }
  if (binning % 2 === 1) {
    // An odd bin holds one pixel more of one half than of the other, alternately from bin to bin: per-pixel means, not sums.
    const [more, fewer] = [(binning * binning + 1) / 2, (binning * binning - 1) / 2];
    for (let by = 0; by < height; by++)
      for (let bx = 0; bx < width; bx++) {
        const i = by * width + bx;
        const evenMore = ((bx + by) & 1) === 0;
        evenSums[i] /= evenMore ? more : fewer;
        oddSums[i] /= evenMore ? fewer : more;
      }
  }
  const [even, odd] = [normalisedThumb(evenSums, width, height, binning), normalisedThumb(oddSums, width, height, binning)];
  return even && odd ? [even, odd] : null;
}

/** Two binned copies of one frame from disjoint pixels (`splitThumbs`). */
export type SplitThumbs = [BlurThumb, BlurThumb];

/** A thumbnail of binned sums: divided by their mean, with its gradient energy; null when the mean is not positive (no light). */
function normalisedThumb(pixels: Float64Array, width: number, height: number, binning: number): BlurThumb | null {
  const mean = meanOf(pixels);
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

/** The margin left out of the comparison (thumbnail px). */
function marginPx(t: BlurThumb): number {
  return Math.round(MARGIN_FRACTION * Math.max(t.width, t.height));
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

/** A sideways shift (thumbnail px). */
interface Shift {
  dx: number;
  dy: number;
}

/**
 * The whole-pixel sideways shift (thumbnail px) that moves `sharp` roughly onto `blurry`: the
 * peak of their normalised cross-correlation, `blurry` inside the comparison margin against the
 * same window of `sharp` moved by up to MAX_SHIFT_FRACTION of the long side. Each moved window
 * of `sharp` is taken about its own mean and divided by its own norm (`blurry`'s window is the
 * same for every shift), so a brightness trend across the field does not pull the peak to the
 * largest shift; a flat window does not count.
 */
function coarseShiftPx(sharp: BlurThumb, blurry: BlurThumb): Shift {
  const { width, height } = sharp;
  const margin = marginPx(sharp);
  // Within the margin, so every moved window lies inside the thumbnail.
  const maxShift = Math.min(margin, Math.round(MAX_SHIFT_FRACTION * Math.max(width, height)));
  const [x0, x1, y0, y1] = [margin, width - margin, margin, height - margin];
  const n = (x1 - x0) * (y1 - y0);
  // `blurry`'s window, zero-mean: then Σ(a − ā)·b = Σa·b for any window a of `sharp`.
  const b = new Float64Array(n);
  for (let y = y0, i = 0; y < y1; y++) for (let x = x0; x < x1; x++) b[i++] = blurry.pixels[y * width + x];
  const meanB = b.reduce((sum, v) => sum + v, 0) / n;
  for (let i = 0; i < n; i++) b[i] -= meanB;
  const shifts: Shift[] = [];
  for (let dy = -maxShift; dy <= maxShift; dy++) for (let dx = -maxShift; dx <= maxShift; dx++) shifts.push({ dx, dy });
  // Smaller shifts first: a tie (a periodic sample) goes to the smaller one.
  shifts.sort((p, q) => p.dx ** 2 + p.dy ** 2 - (q.dx ** 2 + q.dy ** 2));
  let best = { shift: shifts[0], correlation: -Infinity };
  for (const shift of shifts) {
    let [sumA, sumA2, sumAB] = [0, 0, 0];
    for (let y = y0, i = 0; y < y1; y++)
      for (let x = x0, row = (y - shift.dy) * width - shift.dx; x < x1; x++, i++) {
        const a = sharp.pixels[row + x];
        sumA += a;
        sumA2 += a * a;
        sumAB += a * b[i];
      }
    const variance = sumA2 - (sumA * sumA) / n;
    if (!(variance > 1e-12 * n)) continue;
    const correlation = sumAB / Math.sqrt(variance);
    if (correlation > best.correlation) best = { shift, correlation };
  }
  return best.shift;
}

/** `sharp`'s padded spectrum moved sideways by (dx, dy) thumbnail px (a linear phase, separable in x and y); for no shift, the cached spectrum itself (callers must not modify it). */
function shiftedSpectrum(sharp: BlurThumb, shift: Shift): Float64Array {
  const { fft, spectrum } = padded(sharp);
  if (shift.dx === 0 && shift.dy === 0) return spectrum;
  const phaseX = Array.from({ length: fft.halfWidth }, (_, kx) => (-2 * Math.PI * kx * shift.dx) / fft.width);
  const [cosX, sinX] = [phaseX.map(Math.cos), phaseX.map(Math.sin)];
  const out = new Float64Array(spectrum.length);
  for (let ky = 0; ky < fft.height; ky++) {
    const phaseY = (-2 * Math.PI * (ky <= fft.height / 2 ? ky : ky - fft.height) * shift.dy) / fft.height;
    const [cosY, sinY] = [Math.cos(phaseY), Math.sin(phaseY)];
    for (let kx = 0; kx < fft.halfWidth; kx++) {
      const k = ky * fft.halfWidth + kx;
      const c = cosX[kx] * cosY - sinX[kx] * sinY;
      const s = sinX[kx] * cosY + cosX[kx] * sinY;
      out[2 * k] = spectrum[2 * k] * c - spectrum[2 * k + 1] * s;
      out[2 * k + 1] = spectrum[2 * k] * s + spectrum[2 * k + 1] * c;
    }
  }
  return out;
}

/**
 * `spectrum` (a half spectrum of `t`'s padded field, `padded`) times `gain` at each radial
 * frequency (cycles/px), back in the padded image (row length `rowPx`, the field at `padPx`);
 * only the rows inside the comparison margin (`margin`) are made.
 */
function filteredField(t: BlurThumb, spectrum: Float64Array, gain: (f: number) => number): { image: Float64Array; rowPx: number; padPx: number; margin: number } {
  const { fft, padPx } = padded(t);
  const f = radialFrequency(fft);
  const filtered = new Float64Array(spectrum.length);
  for (let k = 0; k < f.length; k++) {
    const g = gain(f[k]);
    filtered[2 * k] = spectrum[2 * k] * g;
    filtered[2 * k + 1] = spectrum[2 * k + 1] * g;
  }
  const margin = marginPx(t);
  const image = fft.inverse(filtered, { overwriteInput: true, firstRow: padPx + margin, rowCount: t.height - 2 * margin });
  return { image, rowPx: fft.width, padPx, margin };
}

/** Gaussian σ (thumbnail px) of the background `thumbDetail` takes away: structure finer than a few pixels stays. */
const DETAIL_SIGMA_PX = 4;

/** Gaussian taps reach this many σ either side (the mass beyond: 2 × 10⁻⁹). */
const DETAIL_KERNEL_SIGMAS = 6;
/** RMS of a detail (relative to the thumbnail's mean) below which it is rounding error: a frame with no structure at all (saturated, or synthetic). */
const NO_DETAIL_RMS = 1e-9;

/**
 * The thumbnail's detail inside the comparison margin (row-major, `(width − 2m) × (height − 2m)`):
 * its pixels less a Gaussian-blurred (σ `sigmaPx`, default DETAIL_SIGMA_PX) copy, which removes
 * uneven lighting; the blur is separable, in the pixels' domain, with the edges reflected (as
 * blur matching pads its thumbnails); all zero for a thumbnail with no structure above rounding
 * (NO_DETAIL_RMS). Made once per thumbnail. Two images' details correlate where the same
 * structure shows with the same sign of contrast (`detailCorrelation`).
 */
export function thumbDetail(t: BlurThumb, sigmaPx = DETAIL_SIGMA_PX): Float64Array {
  if (t.detail?.sigmaPx === sigmaPx) return t.detail.values;
  const { width, height, pixels } = t;
  const margin = marginPx(t);
  const [w, h] = [width - 2 * margin, height - 2 * margin];
  const radius = Math.ceil(DETAIL_KERNEL_SIGMAS * sigmaPx);
  const taps = Float64Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigmaPx ** 2)));
  const tapSum = taps.reduce((a, b) => a + b, 0);
  for (let k = 0; k < taps.length; k++) taps[k] /= tapSum;
  // Along x for the detail's columns (from a reflected copy of each row), on the rows the pass along y reads; then along y for the detail's rows.
  const rows = Int32Array.from({ length: h + 2 * radius }, (_, i) => reflect(margin - radius + i, height));
  const alongX = new Float64Array(height * w);
  const columns = Int32Array.from({ length: w + 2 * radius }, (_, i) => reflect(margin - radius + i, width));
  const row = new Float64Array(w + 2 * radius);
  const read = new Uint8Array(height);
  for (const y of rows) read[y] = 1;
  for (let y = 0; y < height; y++) {
    if (!read[y]) continue;
    for (let i = 0; i < row.length; i++) row[i] = pixels[y * width + columns[i]];
    for (let x = 0; x < w; x++) {
      let sum = taps[radius] * row[x + radius];
      for (let k = 0; k < radius; k++) sum += taps[k] * (row[x + k] + row[x + 2 * radius - k]);
      alongX[y * w + x] = sum;
    }
  }
  const values = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const out = y * w;
    const centre = rows[y + radius] * w;
    for (let x = 0; x < w; x++) values[out + x] = taps[radius] * alongX[centre + x];
    for (let k = 0; k < radius; k++) {
      const tap = taps[k];
      const above = rows[y + k] * w;
      const below = rows[y + 2 * radius - k] * w;
      for (let x = 0; x < w; x++) values[out + x] += tap * (alongX[above + x] + alongX[below + x]);
    }
    const source = (y + margin) * width + margin;
    for (let x = 0; x < w; x++) values[out + x] = pixels[source + x] - values[out + x];
  }
  if (Math.sqrt(dot(values, values) / values.length) < NO_DETAIL_RMS) values.fill(0);
  t.detail = { sigmaPx, values };
  return values;
}

/** Width (px) of the thumbnail's detail (`thumbDetail`): its rows are this long. */
export function thumbDetailWidthPx(t: BlurThumb): number {
  return t.width - 2 * marginPx(t);
}

/** Pearson correlation of two thumbnails' details (`thumbDetail`, same size): −1 where one shows the other's structure with contrast inverted; NaN for a featureless one. */
export function detailCorrelation(a: BlurThumb, b: BlurThumb): number {
  return correlation(thumbDetail(a), thumbDetail(b));
}

/**
 * Correlation of two images' details (`thumbDetail`, σ `sigmaPx`) from their split halves
 * (`splitThumbs`), free of noise: the mean of the products of one image's half with the other
 * image's other half, over the root of the product of each image's two halves (noise is
 * independent between halves, so no product carries its power). −1 where one shows the other's
 * structure with contrast inverted; NaN when either image shows no structure above its noise.
 */
export function splitDetailCorrelation(a: SplitThumbs, b: SplitThumbs, sigmaPx: number): number {
  const [a0, a1, b0, b1] = [thumbDetail(a[0], sigmaPx), thumbDetail(a[1], sigmaPx), thumbDetail(b[0], sigmaPx), thumbDetail(b[1], sigmaPx)];
  const [selfA, selfB] = [dot(a0, a1), dot(b0, b1)];
  if (!(selfA > 0 && selfB > 0)) return Number.NaN;
  return (dot(a0, b1) + dot(a1, b0)) / 2 / Math.sqrt(selfA * selfB);
}

/** Mean squared difference, inside the margin, between `sharp` (its spectrum `spectrum`, registered) blurred by the kernel and `blurry`. */
function mismatch(sharp: BlurThumb, spectrum: Float64Array, blurry: BlurThumb, kernel: Kernel, sizePx: number): number {
  const { width, height } = sharp;
  const { image, rowPx, padPx, margin } = filteredField(sharp, spectrum, (f) => kernelOtf(kernel, sizePx, f));
  let sum = 0;
  let n = 0;
  for (let y = margin; y < height - margin; y++)
    for (let x = margin; x < width - margin; x++) {
      const d = image[(y + padPx) * rowPx + x + padPx] - blurry.pixels[y * width + x];
      sum += d * d;
      n++;
    }
  return sum / n;
}

/**
 * Kernel and shift fitted together: the better kernel without a shift, kept unless that kernel
 * reproduces the blurrier image better by REGISTRATION_GAIN from the correlation peak
 * (`coarseShiftPx`); then the shift is refined within a pixel of the peak with that kernel, and
 * both kernels are fitted again there (that fit kept only if it reproduces the blurrier image no
 * worse than the unshifted one).
 */
function registeredFit(sharp: BlurThumb, blurry: BlurThumb): KernelFit {
  const fitAt = (shift: Shift): KernelFit => {
    const spectrum = shiftedSpectrum(sharp, shift);
    const fits = (["gaussian", "disc"] as const).map((kernel) => bestKernel(sharp, spectrum, blurry, kernel));
    return fits[0].mismatch <= fits[1].mismatch ? fits[0] : fits[1];
  };
  const first = fitAt({ dx: 0, dy: 0 });
  const coarse = coarseShiftPx(sharp, blurry);
  if (coarse.dx === 0 && coarse.dy === 0) return first;
  const coarseMismatch = mismatch(sharp, shiftedSpectrum(sharp, coarse), blurry, first.kernel, first.sizePx);
  if (!(coarseMismatch <= REGISTRATION_GAIN * first.mismatch)) return first;
  const shift = { ...coarse };
  // Each axis's search starts where the last ended (that point is evaluated again: Brent's first point).
  for (const axis of ["dx", "dy", "dx"] as const) {
    const search = brentMaximize(shift[axis] - 1, shift[axis] + 1, { toleranceUm: SHIFT_TOLERANCE_PX, maxEvaluations: MAX_SHIFT_EVALUATIONS, x0: shift[axis] });
    shift[axis] = runSearchSync(search, (v) => -mismatch(sharp, shiftedSpectrum(sharp, { ...shift, [axis]: v }), blurry, first.kernel, first.sizePx)).x;
  }
  const registered = fitAt(shift);
  return registered.mismatch <= first.mismatch ? registered : first;
}

interface KernelFit {
  kernel: Kernel;
  /** Gaussian σ or disc radius (thumbnail px). */
  sizePx: number;
  /** Second moment per axis (thumbnail px²). */
  secondMomentPx2: number;
  mismatch: number;
}

/** The kernel size that best turns `sharp` (its registered spectrum `spectrum`) into `blurry`: its second moment per axis (px²) and the mismatch left. */
function bestKernel(sharp: BlurThumb, spectrum: Float64Array, blurry: BlurThumb, kernel: Kernel): KernelFit {
  const side = Math.max(sharp.width, sharp.height);
  const search = brentMaximize(0, (kernel === "gaussian" ? MAX_SIGMA_FRACTION : MAX_RADIUS_FRACTION) * side, { toleranceUm: SIZE_TOLERANCE_PX, maxEvaluations: MAX_FIT_EVALUATIONS });
  const { x, fx } = runSearchSync(search, (sizePx) => -mismatch(sharp, spectrum, blurry, kernel, sizePx));
  return { kernel, sizePx: x, secondMomentPx2: kernel === "gaussian" ? x * x : (x * x) / 4, mismatch: -fx };
}

/**
 * How much blurrier `b` is than `a`: the second moment per axis (camera px²) of the kernel that
 * turns the sharper of the two (by gradient energy), moved onto the other (`registeredFit`), into
 * the other, positive when `b` is the blurrier.
 * @throws RangeError when the two were binned differently (frames of different sizes).
 */
export function blurDifferencePx2(a: BlurThumb, b: BlurThumb): number {
  if (a.binning !== b.binning || a.width !== b.width || a.height !== b.height) throw new RangeError("blur matching needs frames of the same size");
  // Blur lowers the gradient energy of a field: the sharper image is the one with more.
  const [sharp, blurry, sign] = a.gradientEnergy >= b.gradientEnergy ? [a, b, 1] : [b, a, -1];
  const best = registeredFit(sharp, blurry);
  return sign * best.secondMomentPx2 * a.binning ** 2;
}

/**
 * Focus z (µm) from images of one field at three or more z, by least squares over every pair's
 * blur difference (see the module comment); `growthPx2PerUm2` is k for camera pixels. Null with
 * fewer than three images (or images at one z).
 */
export function blurMatchFocusUm(images: readonly { zUm: number; thumb: BlurThumb }[], growthPx2PerUm2: number): number | null {
  const terms = blurTerms(images);
  const focusUm = terms && terms.midUm - terms.blurPx2PerUm / growthPx2PerUm2;
  return focusUm !== null && Number.isFinite(focusUm) ? focusUm : null;
}

/**
 * The least-squares terms of `blurMatchFocusUm`: over pairs with Δ = z_j − z_i and blur
 * difference D_ij, focus = midUm − blurPx2PerUm / k, where midUm = Σ Δ²·(z_i + z_j)/2 / Σ Δ² and
 * blurPx2PerUm = Σ Δ·D / (2 Σ Δ²) (= k·(midUm − focus) when the blur follows the cone). Null with
 * fewer than three images (or images at one z).
 */
function blurTerms(images: readonly { zUm: number; thumb: BlurThumb }[]): { midUm: number; blurPx2PerUm: number } | null {
  if (images.length < 3) return null;
  let dd = 0;
  let ddMid = 0;
  let dBlur = 0;
  for (let i = 0; i < images.length; i++)
    for (let j = i + 1; j < images.length; j++) {
      const [p, q] = [images[i], images[j]];
      const d = q.zUm - p.zUm;
      dd += d * d;
      ddMid += (d * d * (p.zUm + q.zUm)) / 2;
      dBlur += d * blurDifferencePx2(p.thumb, q.thumb);
    }
  return dd > 0 ? { midUm: ddMid / dd, blurPx2PerUm: dBlur / (2 * dd) } : null;
}

/** Fewest triples a measured k is taken from. */
const MIN_GROWTH_TRIPLES = 5;
/**
 * Largest median absolute deviation of the triples' k, as a fraction of their median, for a
 * measured k: on the calibration stacks of the simulator's sets they agree within 2 %; a field
 * that changes between planes other than by blur reads k scattered by 50 % and more.
 */
const MAX_GROWTH_SPREAD = 0.15;

/**
 * Widest triple spacing a measured k is read at, as a fraction of the reach: centres lie between
 * s/2 and the reach from focus, so the autofocus's 2·FWHM spacing of a long sweep would leave none.
 */
const MAX_GROWTH_SPACING_OF_REACH = 0.6;

/**
 * k of `blurMatchFocusUm` measured on a calibration sweep: planes of one flat field at known z,
 * in focus at `focusUm`. Triples c − s, c, c + s (s = `spacingUm`, the autofocus's first spacing,
 * at most MAX_GROWTH_SPACING_OF_REACH × `reachUm`; planes within s/8 of those z) centred within
 * `reachUm` of focus and at least s/2 from it, at most one per s/8, each read
 * k = blurPx2PerUm / (midUm − focus) (`blurTerms`); their median, in camera px² per µm². It
 * carries the real optics — the pixel pitch on the sample, the NA and immersion, the PSF's shape
 * — where `blurGrowthPx2PerUm2Of` takes the configured ones. Undefined with fewer than
 * MIN_GROWTH_TRIPLES triples, no positive median, or triples that disagree (MAX_GROWTH_SPREAD).
 */
export function measureBlurGrowthPx2PerUm2(planes: readonly { zUm: number; thumb: BlurThumb }[], focusUm: number, spacingUm: number, reachUm: number): number | undefined {
  const s = Math.min(spacingUm, MAX_GROWTH_SPACING_OF_REACH * reachUm);
  const sorted = [...planes].sort((a, b) => a.zUm - b.zUm);
  const toleranceUm = s / 8;
  const near = (zUm: number): { zUm: number; thumb: BlurThumb } | undefined => {
    const p = sorted.reduce((best, q) => (Math.abs(q.zUm - zUm) < Math.abs(best.zUm - zUm) ? q : best), sorted[0]);
    return p && Math.abs(p.zUm - zUm) <= toleranceUm ? p : undefined;
  };
  const ks: number[] = [];
  let lastCentreUm = -Infinity;
  for (const c of sorted) {
    const offUm = Math.abs(c.zUm - focusUm);
    if (offUm > reachUm || offUm < s / 2 || c.zUm - lastCentreUm < toleranceUm) continue;
    const [lo, hi] = [near(c.zUm - s), near(c.zUm + s)];
    if (!lo || !hi) continue;
    lastCentreUm = c.zUm;
    const terms = blurTerms([lo, c, hi]);
    if (terms) ks.push(terms.blurPx2PerUm / (terms.midUm - focusUm));
  }
  if (ks.length < MIN_GROWTH_TRIPLES) return undefined;
  const k = median(ks);
  const spread = median(ks.map((x) => Math.abs(x - k)));
  return Number.isFinite(k) && k > 0 && spread <= MAX_GROWTH_SPREAD * k ? k : undefined;
}

/**
 * A defocused pupil's blur second moment over `blurGrowthPx2PerUm2Of`'s uniform disc: with the
 * light spread evenly over the pupil (sin θ up to NA/n) rather than over the disc, its rays crowd
 * toward the disc's centre at high NA — per axis (−1 − ln(1 − x)/x)/2 against tan²θ_max/4,
 * x = (NA/n)²: 0.97 at NA 0.3 in air, 0.43 at NA 1.4 in oil. Blur matching itself runs with the
 * disc's k (its rules were chosen with it at 10×/NA 0.3); what a sweep should measure is closer to
 * this times that.
 */
export function pupilGrowthFactor(objective: Pick<ObjectiveConfig, "na" | "immersionIndex">): number {
  const x = (objective.na / objective.immersionIndex) ** 2;
  return (-1 - Math.log(1 - x) / x) / 2 / (x / (1 - x) / 4);
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
