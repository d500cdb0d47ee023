import { curveAt, curveCeiling, curveFloor, type CalibrationCurve } from "../focus/calibration-match.js";
import { fitPeak } from "../focus/fit.js";
import { GOLDEN_RATIO } from "../focus/golden.js";
import { STRONG_PEAK_RELATIVE } from "./classical.js";
import { crossCheckSharpest } from "./cross-check.js";
import type { TracePoint } from "./types.js";

/** A trace point the cross-check metric scored. */
export type SharpPoint = TracePoint & { sharpness: number };

/** Trace points with a finite cross-check score, by z (the latest image where two share a z). */
export function sharpnessPoints(trace: readonly TracePoint[]): SharpPoint[] {
  const byZ = new Map<number, SharpPoint>();
  for (const p of trace) if (Number.isFinite(p.sharpness)) byZ.set(p.zUm, p as SharpPoint);
  return [...byZ.values()].sort((a, b) => a.zUm - b.zUm);
}

/** Where the cross-check metric alone puts focus (µm), and how finely its images resolve it (half the wider gap beside its sharpest image). */
export interface MetricPeak {
  zUm: number;
  uncertaintyUm: number;
}

/** Images a peak test needs, the peak included (the fallback's noise test and `metricPeak`). */
export const MIN_PEAK_IMAGES = 5;
/** Both images beside the sharpest lie within this fraction of the calibration's FWHM of it: coarser images place a vertex anywhere in the gap. */
const MAX_GAP_FWHM = 0.25;
/** The metric falls below its peak by STRONG_PEAK_RELATIVE on one side, and by this on the other. */
const MIN_FLANK_DROP = 0.04;
/** Most any image departs from the best unimodal curve through the images, as a fraction of the peak's height above the lowest image. */
const MAX_UNIMODAL_DEPARTURE = 0.2;
/** DeepFocus reads the metric's sharpest image at most this many times its lowest reading of the run. */
const DEEPFOCUS_AGREEMENT_RATIO = 1.05;
/** On one side at least, DeepFocus rises from the sharpest image to the outermost one by this fraction of the calibration curve's rise over that distance. */
const MIN_DEEPFOCUS_RISE_FRACTION = 0.1;

/**
 * The cross-check metric's own focus peak among a run's images, for when DeepFocus refused and
 * could not confirm one (a sample that reads far above the calibration's floor: a motion-blurred
 * or dim, over-sampled object, a smooth cell edge at high NA), or a reason why there is none.
 * A peak answers only where it leaves little room for noise:
 * - at least MIN_PEAK_IMAGES images scored by both metrics; the sharpest one has an image on
 *   each side, both within MAX_GAP_FWHM × `fwhmUm` of it;
 * - the metric falls by STRONG_PEAK_RELATIVE (the classical search's test) on one side and by
 *   MIN_FLANK_DROP on the other (a cell field read through a blurring camera, whose gradient
 *   metric varies 1–4 % over ±10 µm, was answered 1–2 µm off);
 * - the images follow one peak: none departs from the best unimodal curve by more than
 *   MAX_UNIMODAL_DEPARTURE of the peak's height (40×/NA 0.75 beads that do were answered 1.1–1.7 µm off);
 * - DeepFocus agrees: it reads the sharpest image within DEEPFOCUS_AGREEMENT_RATIO of its lowest
 *   reading and higher at the outermost image of each side (a gradient metric's false peak a few
 *   DOF out, a defocused sparse or phase-like sample, reads blurred to DeepFocus), on one side by
 *   MIN_DEEPFOCUS_RISE_FRACTION of what the calibration curve rises over that distance at least
 *   (a sample that reads several times the calibration's floor rises less, but a field with no
 *   texture reads flat: a dim colour wheel rose 1 % over 11 µm, where the curve doubles, and a
 *   replayed stack's frames between planes gave its noise-level Tenengrad a false peak).
 * Thresholds chosen on the selection sets (docs/benchmarks.md, "The metric's own peak").
 * The estimate is the vertex of the Gaussian fitted to the images within MAX_GAP_FWHM × `fwhmUm`
 * of the sharpest one (`fitPeak`): on the selection sets' answers it erred 0.18 µm on average,
 * the vertex through the sharpest image and its two neighbours 0.27 (an image a fraction of a
 * µm beside the sharpest one hands that vertex to noise), and through two neighbours each side
 * 0.26 (it leans towards the side with more images). Where the fit has no maximum, the sharpest
 * image is focus.
 */
export function metricPeak(trace: readonly TracePoint[], curve: CalibrationCurve, fwhmUm: number): MetricPeak | string {
  const shape = peakShape(trace);
  if (typeof shape === "string") return shape;
  const { pts, s, b, gapUm, drops } = shape;
  if (pts.length < MIN_PEAK_IMAGES) return `has too few images (${pts.length}) for a peak of its own`;
  if (gapUm > MAX_GAP_FWHM * fwhmUm) return `has no images within ${(MAX_GAP_FWHM * fwhmUm).toFixed(1)} µm (FWHM/${1 / MAX_GAP_FWHM}) each side of its sharpest one`;
  if (!flanksFall(drops)) return `falls only ${(100 * drops[0]).toFixed(1)} % and ${(100 * drops[1]).toFixed(1)} % below its peak on either side`;
  const peak = s[b];
  const departure = unimodalDeparture(s, b) / (peak - Math.min(...s));
  if (departure > MAX_UNIMODAL_DEPARTURE) return `does not follow one peak (an image departs by ${(100 * departure).toFixed(0)} % of its height)`;
  const df = pts.map((p) => p.score);
  const atPeak = df[b];
  if (atPeak > DEEPFOCUS_AGREEMENT_RATIO * Math.min(...df) || !(df[0] > atPeak && df[df.length - 1] > atPeak))
    return `peaks at z=${pts[b].zUm.toFixed(1)} µm, where DeepFocus does not read its lowest with higher readings on both sides`;
  const outer = [pts[0], pts[pts.length - 1]];
  const riseFraction = Math.max(
    ...outer.map((p) => {
      const expected = calibrationRise(curve, Math.abs(p.zUm - pts[b].zUm));
      return expected > 0 ? (p.score / atPeak - 1) / expected : 0;
    }),
  );
  if (!(riseFraction >= MIN_DEEPFOCUS_RISE_FRACTION))
    return `peaks at z=${pts[b].zUm.toFixed(1)} µm, but DeepFocus reads the images around it alike (it rises ${(100 * riseFraction).toFixed(0)} % as much as the calibration curve): a field without texture`;
  const top = pts.filter((p) => Math.abs(p.zUm - pts[b].zUm) <= MAX_GAP_FWHM * fwhmUm);
  const zUm = fitPeak(top.map((p) => p.zUm), top.map((p) => p.sharpness), { halfWindow: top.length }) ?? pts[b].zUm;
  return { zUm, uncertaintyUm: gapUm / 2 };
}

/**
 * Where one more image would let `metricPeak` judge the peak, or null when none would (or it
 * would repeat one, or the stage limits stop it): midway in the wider gap beside the sharpest
 * image when a gap is over MAX_GAP_FWHM × `fwhmUm`; else, while the images are too few or a flank
 * has not fallen enough, GOLDEN_RATIO × the distance of the outermost image on the side that
 * fell least. It does not look at the peak's shape or at DeepFocus: those are judged once the
 * images suffice (a run whose peak they reject refuses then, with the images it took).
 */
export function nextPeakImage(trace: readonly TracePoint[], fwhmUm: number, minUm: number, maxUm: number): number | null {
  const shape = peakShape(trace);
  if (typeof shape === "string") return null;
  const { pts, b, gapUm, drops } = shape;
  const bestUm = pts[b].zUm;
  const [loUm, hiUm] = [pts[b - 1].zUm, pts[b + 1].zUm];
  let zUm: number;
  if (gapUm > MAX_GAP_FWHM * fwhmUm) zUm = bestUm - loUm >= hiUm - bestUm ? (loUm + bestUm) / 2 : (bestUm + hiUm) / 2;
  else if (pts.length < MIN_PEAK_IMAGES || !flanksFall(drops)) zUm = bestUm + GOLDEN_RATIO * ((drops[0] <= drops[1] ? pts[0] : pts[pts.length - 1]).zUm - bestUm);
  else return null;
  zUm = Math.min(maxUm, Math.max(minUm, zUm));
  return trace.some((p) => Math.abs(p.zUm - zUm) < 1e-9) ? null : zUm;
}

/** The images both metrics scored (by z), their cross-check scores, the sharpest one (inside), the wider gap beside it and how far the metric falls below it on each side (relative); or why there is no such peak. */
function peakShape(trace: readonly TracePoint[]): { pts: SharpPoint[]; s: number[]; b: number; gapUm: number; drops: number[] } | string {
  const sharp = sharpnessPoints(trace);
  const sharpest = crossCheckSharpest(sharp);
  if (sharpest && !Number.isFinite(sharpest.score)) return `is sharpest at z=${sharpest.zUm.toFixed(1)} µm, an image DeepFocus could not read (no valid tile)`;
  const pts = sharp.filter((p) => Number.isFinite(p.score));
  if (pts.length < 3) return `has too few images (${pts.length}) for a peak of its own`;
  const s = pts.map((p) => p.sharpness);
  const b = s.indexOf(Math.max(...s));
  if (b === 0 || b === pts.length - 1) return "is sharpest at its outermost image";
  const gapUm = Math.max(pts[b].zUm - pts[b - 1].zUm, pts[b + 1].zUm - pts[b].zUm);
  const drops = [Math.min(...s.slice(0, b)), Math.min(...s.slice(b + 1))].map((low) => (s[b] - low) / s[b]);
  return { pts, s, b, gapUm, drops };
}

/** The metric falls by STRONG_PEAK_RELATIVE on one side of its peak and by MIN_FLANK_DROP on the other. */
function flanksFall(drops: readonly number[]): boolean {
  return Math.max(...drops) >= STRONG_PEAK_RELATIVE && Math.min(...drops) >= MIN_FLANK_DROP;
}

/** Largest |residual| of the least-squares curve through `s` that rises to index `peak` and falls after it (pool-adjacent-violators on each side). */
function unimodalDeparture(s: readonly number[], peak: number): number {
  const rising = nonDecreasing(s.slice(0, peak + 1));
  const falling = nonDecreasing(s.slice(peak).reverse()).reverse();
  const fit = [...rising.slice(0, peak), Math.max(rising[peak], falling[0]), ...falling.slice(1)];
  return Math.max(...s.map((v, i) => Math.abs(v - fit[i])));
}

/** The least-squares non-decreasing fit to `v` (pool adjacent violators). */
function nonDecreasing(v: readonly number[]): number[] {
  const blocks: { sum: number; n: number }[] = [];
  for (const x of v) {
    blocks.push({ sum: x, n: 1 });
    while (blocks.length > 1) {
      const [a, c] = blocks.slice(-2);
      if (a.sum / a.n <= c.sum / c.n) break;
      blocks.pop();
      a.sum += c.sum;
      a.n += c.n;
    }
  }
  return blocks.flatMap((k) => Array<number>(k.n).fill(k.sum / k.n));
}

/** How much the calibration curve rises (relative to its floor) `dUm` from focus, both sides averaged; its ceiling beyond the sweep. */
function calibrationRise(curve: CalibrationCurve, dUm: number): number {
  const at = (zUm: number): number => {
    const b = curveAt(curve, zUm);
    return Number.isFinite(b) ? b : curveCeiling(curve);
  };
  return (at(dUm) + at(-dUm)) / 2 / curveFloor(curve) - 1;
}
