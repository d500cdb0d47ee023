import type { FieldMatch } from "../focus/calibration-match.js";
import { fitPeak, polyFit } from "../focus/fit.js";
import { robustSd } from "../focus/stats.js";
import type { TracePoint } from "./types.js";

/**
 * The classical cross-check of a refinement triple (`TracePoint.sharpness`, higher is sharper).
 * Near focus, where the DeepFocus curve has its floor, a gradient metric changes fastest; far
 * out it flattens into its noise. A log ratio of at least this between the triple's middle
 * image and its sharper outer one is a decision (10 %: far above the frame-to-frame noise of a
 * gradient sum over a ROI, far below its change over a depth of field near focus).
 */
export const DECISIVE_LOG_RATIO = 0.1;

/**
 * A triple whose sharpest image reads at least this multiple of the run's pedestal
 * (`sharpnessPedestal`) lies on the peak. Above the pedestal a score's relative noise grows by
 * s / (s − pedestal), at most 2× there, so a 10 % lead still lies well above the noise.
 */
export const PEAK_OVER_PEDESTAL = 2;

/**
 * ln(middle sharpness) − ln(the sharper outer image's): ≥ DECISIVE_LOG_RATIO, the metric
 * brackets focus; ≤ −DECISIVE_LOG_RATIO, it points to that outer image; null without a
 * cross-check or with a non-positive score. Taken above the ROI's `pedestal` when the triple lies
 * on the peak (PEAK_OVER_PEDESTAL): on a low-contrast sample the pedestal would hide a lead there.
 * Elsewhere it is taken on the raw scores, where far out the scores differ by their noise alone.
 */
export function sharpnessLead(lo: TracePoint, mid: TracePoint, hi: TracePoint, pedestal = 0): number | null {
  const raw = logLead(lo.sharpness, mid.sharpness, hi.sharpness);
  if (raw === null || !onSharpnessPeak(lo, mid, hi, pedestal)) return raw;
  return logLead(lo.sharpness! - pedestal, mid.sharpness! - pedestal, hi.sharpness! - pedestal);
}

/** The triple lies on the cross-check's peak: its sharpest image reads at least PEAK_OVER_PEDESTAL × the ROI's (positive) `pedestal`. */
export function onSharpnessPeak(lo: TracePoint, mid: TracePoint, hi: TracePoint, pedestal: number): boolean {
  return pedestal > 0 && Math.max(lo.sharpness ?? 0, mid.sharpness ?? 0, hi.sharpness ?? 0) >= PEAK_OVER_PEDESTAL * pedestal;
}

function logLead(lo: number | undefined, mid: number | undefined, hi: number | undefined): number | null {
  if (lo === undefined || mid === undefined || hi === undefined || !(lo > 0 && mid > 0 && hi > 0)) return null;
  return Math.log(mid) - Math.log(Math.max(lo, hi));
}

/** The image has a positive cross-check score, as a log ratio of two needs. */
export const sharpnessRated = (p: TracePoint | undefined): p is TracePoint => p?.sharpness !== undefined && p.sharpness > 0;

/** ln(p's cross-check score / q's): how much sharper the cross-check rates `p` (both `sharpnessRated`). */
export const sharpnessLogRatio = (p: TracePoint, q: TracePoint): number => Math.log(p.sharpness! / q.sharpness!);

/** The image the cross-check metric rates sharpest, or null when none has a cross-check score. */
export function crossCheckSharpest<T extends TracePoint>(trace: readonly T[]): T | null {
  const scored = trace.filter((p) => Number.isFinite(p.sharpness));
  return scored.length ? scored.reduce((a, b) => (b.sharpness! > a.sharpness! ? b : a)) : null;
}

/**
 * The cross-check rates its sharpest image at least this much (log ratio: 2×) sharper than every
 * other image of the run: focus is near that image, whatever blur matching says (it misreads a
 * periodic sample near focus) or DeepFocus (it reads a false minimum far out through a
 * pupil-like PSF). Far out, where a gradient metric flattens, the nearest image of a triple
 * leads by 10–30 %.
 */
export const NEAR_FOCUS_LOG_RATIO = Math.LN2;

/**
 * How much sharper (log ratio) the cross-check rates its sharpest image than every other one
 * with a positive score: +∞ when no other has one, −∞ when none has (no cross-check).
 */
export function sharpestLead(trace: readonly TracePoint[]): number {
  const rated = trace.filter(sharpnessRated);
  const best = crossCheckSharpest(rated);
  if (best === null) return -Infinity;
  return Math.min(Infinity, ...rated.filter((p) => p !== best).map((p) => Math.log(best.sharpness!) - Math.log(p.sharpness!)));
}

/**
 * DeepFocus overrules a decisive cross-check when, well above its floor, it calls one outer
 * image at least this much sharper (log ratio of the blur radii) than the middle one and the
 * other outer one blurrier still: far from focus a gradient metric can rise again (a phase-like
 * sample's contrast grows with defocus; light spilling into a sparse field from objects outside
 * it peaks a few DOF out), while there the DeepFocus curve is steep.
 */
export const DEEPFOCUS_DECISIVE_LOG_RATIO = 0.1;
/**
 * "Well above its floor": every image of the triple reads at least this multiple of the
 * calibration curve's minimum (≈ 1.5–2 DOF from focus). Closer in, a periodic sample's
 * DeepFocus reading can invert (the mesh reads sharper 20 µm out than at focus) while the
 * gradient metric is right.
 */
export const DEEPFOCUS_FLOOR_MULTIPLE = 4;

/**
 * The outer image DeepFocus decisively calls sharper (see DEEPFOCUS_DECISIVE_LOG_RATIO): the
 * triple's scores fall monotonically towards it and all lie above DEEPFOCUS_FLOOR_MULTIPLE ×
 * `floorB`; else null.
 */
export function deepfocusPoints(lo: TracePoint, mid: TracePoint, hi: TracePoint, floorB: number): TracePoint | null {
  const [l, m, h] = [lo.score, mid.score, hi.score];
  if (!(Math.min(l, m, h) >= DEEPFOCUS_FLOOR_MULTIPLE * floorB)) return null;
  if (l < m && m < h && Math.log(m) - Math.log(l) >= DEEPFOCUS_DECISIVE_LOG_RATIO) return lo;
  if (h < m && m < l && Math.log(m) - Math.log(h) >= DEEPFOCUS_DECISIVE_LOG_RATIO) return hi;
  return null;
}

/**
 * The cross-check's pedestal is estimated as this fraction of the run's lowest score
 * (`sharpnessPedestal`). The run's farthest images read about the pedestal, and the fraction
 * keeps every image above it.
 */
export const PEDESTAL_FRACTION = 0.9;

/**
 * What the cross-check metric reads with no focus signal, for the ROI and per tile: noise and the
 * residual contrast of a defocused field. On a low-contrast sample the peak rises only a few
 * times above it: on the 40×/NA 0.75 cells stack, Tenengrad reads 0.0065 far out and 0.017 at
 * focus. On a log scale a peak on a pedestal looks wider than it is, and the vertex of a triple
 * wider than the peak leans further towards its middle image. So the refinement stopped with its
 * triple 2–3 peak widths wide, 0.3–0.7 µm (half a DOF) from focus. The peak's vertex and width
 * are fitted above the pedestal (docs/benchmarks.md, "The cross-check's pedestal").
 */
export interface SharpnessPedestal {
  roi: number;
  tiles: readonly number[];
}

/**
 * The run's pedestal: PEDESTAL_FRACTION × the lowest positive cross-check score among its images,
 * for the ROI and for each tile (0 where none has one).
 */
export function sharpnessPedestal(trace: readonly TracePoint[]): SharpnessPedestal {
  const lowest = (scores: readonly (number | undefined)[]): number => {
    const rated = scores.filter((s): s is number => s !== undefined && s > 0);
    return rated.length ? PEDESTAL_FRACTION * Math.min(...rated) : 0;
  };
  const tileCount = Math.max(0, ...trace.map((p) => p.sharpnessTiles?.length ?? 0));
  return {
    roi: lowest(trace.map((p) => p.sharpness)),
    tiles: Array.from({ length: tileCount }, (_, t) => lowest(trace.map((p) => p.sharpnessTiles?.[t]))),
  };
}

/**
 * Focus from a triple the cross-check brackets decisively: the vertex of a Gaussian (a parabola
 * on the log) through the ROI's three sharpness scores above `pedestal`. For a peak symmetric
 * about focus the vertex equals the middle exactly when the outer pair reads alike, so
 * re-centring on it converges on focus whatever the peak's shape. Per tile the same fit, above
 * the tile's pedestal, where that tile's triple brackets decisively (null elsewhere): the field's
 * focus map. Uncertainty: the tile vertices' robust spread / √n, or half the triple's half-span
 * when fewer than 3 tiles bracket. No calibration curve is fitted, so `rmsResidual` is NaN (the
 * refinement reports the first match's).
 */
export function sharpnessPeakMatch(lo: TracePoint, mid: TracePoint, hi: TracePoint, pedestal: SharpnessPedestal): FieldMatch {
  const zs = [lo.zUm, mid.zUm, hi.zUm];
  const above = (scores: readonly (number | undefined)[], p: number): number[] => scores.map((s) => (s ?? Number.NaN) - p);
  const shiftUm = fitPeak(zs, above([lo.sharpness, mid.sharpness, hi.sharpness], pedestal.roi), { halfWindow: 1 });
  const tileCount = mid.sharpnessTiles?.length ?? 0;
  const tileShiftsUm = Array.from({ length: tileCount }, (_, t) => {
    const [l, m, h] = [lo, mid, hi].map((p) => p.sharpnessTiles?.[t]);
    const lead = logLead(l, m, h);
    return lead !== null && lead >= DECISIVE_LOG_RATIO ? fitPeak(zs, above([l, m, h], pedestal.tiles[t] ?? 0), { halfWindow: 1 }) : null;
  });
  const bracketing = tileShiftsUm.filter((z): z is number => z !== null);
  const halfSpanUm = (hi.zUm - lo.zUm) / 2;
  const uncertaintyUm =
    bracketing.length >= 3 ? robustSd(bracketing) / Math.sqrt(bracketing.length) : halfSpanUm / 2;
  return {
    shiftUm,
    tileShiftsUm,
    validTiles: tileCount,
    inlierTiles: bracketing.length,
    rmsResidual: Number.NaN,
    uncertaintyUm,
    problem: shiftUm === null ? "flat" : null,
  };
}

/**
 * Width σ (µm) of the Gaussian through a triple's three sharpness scores above the ROI's
 * `pedestal` (ln(s − pedestal) = a − (z − z0)² / 2σ²), or null when they do not form a peak.
 * Sampling a peak at about ±σ pins its vertex best.
 */
export function sharpnessPeakWidthUm(lo: TracePoint, mid: TracePoint, hi: TracePoint, pedestal: SharpnessPedestal): number | null {
  const s = [lo.sharpness, mid.sharpness, hi.sharpness];
  if (!s.every((v) => v !== undefined && v > pedestal.roi)) return null;
  const c2 = polyFit([lo.zUm, mid.zUm, hi.zUm], s.map((v) => Math.log((v as number) - pedestal.roi)), 2).coeffs[2];
  return c2 < 0 ? Math.sqrt(-1 / (2 * c2)) : null;
}
