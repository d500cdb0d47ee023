import type { FieldMatch } from "../focus/calibration-match.js";
import { fitPeak, polyFit } from "../focus/fit.js";
import { median } from "../focus/stats.js";
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
 * ln(middle sharpness) − ln(the sharper outer image's): ≥ DECISIVE_LOG_RATIO, the metric
 * brackets focus; ≤ −DECISIVE_LOG_RATIO, it points to that outer image; null without a
 * cross-check or with a non-positive score.
 */
export function sharpnessLead(lo: TracePoint, mid: TracePoint, hi: TracePoint): number | null {
  return logLead(lo.sharpness, mid.sharpness, hi.sharpness);
}

function logLead(lo: number | undefined, mid: number | undefined, hi: number | undefined): number | null {
  if (lo === undefined || mid === undefined || hi === undefined || !(lo > 0 && mid > 0 && hi > 0)) return null;
  return Math.log(mid) - Math.log(Math.max(lo, hi));
}

/**
 * Focus from a triple the cross-check brackets decisively: the vertex of a Gaussian (a parabola
 * on the log) through the ROI's three sharpness scores. For a peak symmetric about focus the
 * vertex equals the middle exactly when the outer pair reads alike, so re-centring on it
 * converges on focus whatever the peak's shape. Per tile the same fit where that tile's triple
 * brackets decisively (null elsewhere): the field's focus map. Uncertainty: the tile vertices'
 * robust spread / √n, or half the triple's half-span when fewer than 3 tiles bracket. No
 * calibration curve is fitted, so `rmsResidual` is NaN (the refinement reports the first match's).
 */
export function sharpnessPeakMatch(lo: TracePoint, mid: TracePoint, hi: TracePoint): FieldMatch {
  const zs = [lo.zUm, mid.zUm, hi.zUm];
  const shiftUm = fitPeak(zs, [lo.sharpness ?? Number.NaN, mid.sharpness ?? Number.NaN, hi.sharpness ?? Number.NaN], { halfWindow: 1 });
  const tileCount = mid.sharpnessTiles?.length ?? 0;
  const tileShiftsUm = Array.from({ length: tileCount }, (_, t) => {
    const [l, m, h] = [lo, mid, hi].map((p) => p.sharpnessTiles?.[t]);
    const lead = logLead(l, m, h);
    return lead !== null && lead >= DECISIVE_LOG_RATIO ? fitPeak(zs, [l!, m!, h!], { halfWindow: 1 }) : null;
  });
  const bracketing = tileShiftsUm.filter((z): z is number => z !== null);
  const halfSpanUm = (hi.zUm - lo.zUm) / 2;
  const uncertaintyUm =
    bracketing.length >= 3 ? (1.4826 * median(bracketing.map((z) => Math.abs(z - median(bracketing))))) / Math.sqrt(bracketing.length) : halfSpanUm / 2;
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
 * Width σ (µm) of the Gaussian through a triple's three sharpness scores (ln s = a − (z − z0)² / 2σ²),
 * or null when they do not form a peak. Sampling a peak at about ±σ pins its vertex best.
 */
export function sharpnessPeakWidthUm(lo: TracePoint, mid: TracePoint, hi: TracePoint): number | null {
  const s = [lo.sharpness, mid.sharpness, hi.sharpness];
  if (!s.every((v) => v !== undefined && v > 0)) return null;
  const c2 = polyFit([lo.zUm, mid.zUm, hi.zUm], s.map((v) => Math.log(v as number)), 2).coeffs[2];
  return c2 < 0 ? Math.sqrt(-1 / (2 * c2)) : null;
}
