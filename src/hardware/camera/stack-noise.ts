import { robustSd } from "../../focus/stats.js";
import type { ZStack } from "../zstack.js";
import type { Frame } from "./types.js";

/**
 * A camera's noise level function σ²(I) = gainDn·I + readVarianceDn2 (Poisson + Gaussian
 * noise; DN units, I in DN), as seen in a recorded stack.
 */
export interface NoiseLevel {
  gainDn: number;
  readVarianceDn2: number;
}

/** Intensity bins of the estimate, and the pixels a bin needs to count. */
const BINS = 16;
const MIN_BIN_PIXELS = 64;
/** Pixels a frame contributes at most (a regular sub-grid beyond): white noise needs no more, and a 2048² frame took seconds and a gigabyte. */
const MAX_FRAME_SAMPLES = 1 << 18;
/** var(v − mean of its 4 neighbours) = (1 + 4/16)·σ² for white noise. */
const RESIDUAL_VARIANCE_FACTOR = 1.25;

const cache = new WeakMap<ZStack, NoiseLevel>();

/**
 * The stack's noise level function, estimated once from its two end planes (the most defocused
 * ones, where the least texture mixes into the estimate): per intensity bin, the robust variance
 * (1.4826·MAD)² of each pixel's difference from the mean of its 4 neighbours, then a weighted
 * least-squares line through the bins, both terms clamped at ≥ 0. Large frames are sampled on a
 * regular grid of at most MAX_FRAME_SAMPLES pixels.
 */
export function stackNoiseLevel(stack: ZStack): NoiseLevel {
  let nlf = cache.get(stack);
  if (!nlf) cache.set(stack, (nlf = estimateNoiseLevel([stack.planes[0].frame, stack.planes[stack.planes.length - 1].frame])));
  return nlf;
}

/** The noise level function of these frames (same camera): see `stackNoiseLevel`. */
export function estimateNoiseLevel(frames: readonly Frame[]): NoiseLevel {
  const full = (1 << frames[0].bitDepth) - 1;
  const bins: number[][] = Array.from({ length: BINS }, () => []);
  const levelSums = new Float64Array(BINS);
  for (const f of frames) {
    const { data, width: w, height: h } = f;
    const stride = Math.max(1, Math.ceil(Math.sqrt(((w - 2) * (h - 2)) / MAX_FRAME_SAMPLES)));
    for (let y = 1; y < h - 1; y += stride)
      for (let x = 1; x < w - 1; x += stride) {
        const i = y * w + x;
        const around = (data[i - 1] + data[i + 1] + data[i - w] + data[i + w]) / 4;
        const bin = Math.min(BINS - 1, Math.floor((around / (full + 1)) * BINS));
        bins[bin].push(data[i] - around);
        levelSums[bin] += around;
      }
  }
  // Weighted least squares of variance on level, weight = pixels in the bin.
  let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let b = 0; b < BINS; b++) {
    if (bins[b].length < MIN_BIN_PIXELS) continue;
    const variance = robustSd(bins[b]) ** 2 / RESIDUAL_VARIANCE_FACTOR;
    const level = levelSums[b] / bins[b].length;
    const wgt = bins[b].length;
    sw += wgt; sx += wgt * level; sy += wgt * variance; sxx += wgt * level * level; sxy += wgt * level * variance;
  }
  if (sw === 0) return { gainDn: 0, readVarianceDn2: 0 };
  const det = sw * sxx - sx * sx;
  // One bin (a flat field): all of it read noise.
  if (det <= 1e-9 * sw * sxx) return { gainDn: 0, readVarianceDn2: Math.max(0, sy / sw) };
  const slope = (sw * sxy - sx * sy) / det;
  const intercept = (sy - slope * sx) / sw;
  if (slope < 0) return { gainDn: 0, readVarianceDn2: Math.max(0, sy / sw) };
  if (intercept < 0) return { gainDn: Math.max(0, sxy / sxx), readVarianceDn2: 0 };
  return { gainDn: slope, readVarianceDn2: intercept };
}
