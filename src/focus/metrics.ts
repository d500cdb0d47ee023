import { hpf, lapv, sml, tenengrad } from "./metrics/neighbourhood.js";
import { normvar, vollath } from "./metrics/statistics.js";
import { ewc, ws } from "./metrics/wavelet.js";
import type { ClassicalMetricId, Rect } from "./types.js";

/** Raw grayscale pixels of a frame (8- to 16-bit values, never rescaled). */
export type Pixels = Uint8Array | Uint16Array;

/**
 * A classical focus metric on one tile: `data` is the whole frame (row stride `width`),
 * `rect` the tile. Only pixels inside `rect` are read (neighbourhood operators use the
 * tile's interior). Higher is sharper. Tiles too small for the operator score 0.
 */
export type MetricFn = (data: Pixels, width: number, rect: Rect) => number;

export interface MetricInfo {
  fn: MetricFn;
  /**
   * Degree `p` of homogeneity: metric(k·I) = k^p · metric(I) for a uniform gain k > 0
   * (so a 16-bit frame equal to 8-bit × 257 scores 257^p times the 8-bit score).
   */
  scaleExponent: number;
  /** True when multiplying the image by a constant leaves the score unchanged (`scaleExponent` 0). */
  brightnessInvariant: boolean;
  description: string;
}

const info = (fn: MetricFn, scaleExponent: number, description: string): MetricInfo => ({
  fn,
  scaleExponent,
  brightnessInvariant: scaleExponent === 0,
  description,
});

/** The eight classical focus metrics, by id (definitions in each function's doc comment). */
export const METRICS: Readonly<Record<ClassicalMetricId, MetricInfo>> = {
  hpf: info(hpf, 2, "high-pass energy: mean squared (pixel − 3×3 box mean)"),
  tenengrad: info(tenengrad, 2, "Tenengrad: mean squared Sobel gradient magnitude"),
  lapv: info(lapv, 2, "variance of the 4-neighbour Laplacian"),
  sml: info(sml, 1, "sum-modified Laplacian (step 1, no threshold), mean per pixel"),
  ewc: info(ewc, 1, "wavelet edge content: mean |LH|+|HL|+|HH| of a one-level Haar DWT"),
  ws: info(ws, 0, "wavelet ratio: Haar detail-band energy / approximation-band energy"),
  vollath: info(vollath, 2, "Vollath F4 autocorrelation (horizontal), mean per term"),
  normvar: info(normvar, 1, "normalised variance: variance / mean"),
};
