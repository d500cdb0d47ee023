import { curveFloor } from "../focus/calibration-match.js";
import { detailCorrelation, thumbDetail } from "../focus/blur-match.js";
import { imageBudget } from "./bracket.js";
import { DEFAULT_REFINE_TOLERANCE_UM } from "./refine.js";
import { imagesWhere, NOT_SHARP_FLOOR_RATIO, settleUnconfirmed, type DeepFocusResult, type DeepFocusRun } from "./deepfocus.js";
import { probe } from "./probe.js";
import { crossCheckSharpest } from "./cross-check.js";
import type { TracePoint } from "./types.js";

/** Two images of a run that show the same structure with inverted contrast (`contrastInversion`), `lo` below `hi`. */
export interface ContrastInversion {
  lo: TracePoint;
  hi: TracePoint;
  correlation: number;
}

/**
 * Detail correlation (`detailCorrelation`) at or below which two images show one structure with
 * inverted contrast. Simulated unstained cells at ±d about focus: −0.84 to −0.91 for d = 2–8 µm,
 * −0.79 at 32 µm (condenser σ 0.3; docs/benchmarks.md, "Unstained cells in bright field: contrast
 * inversion").
 */
const INVERTED_CORRELATION = -0.5;

/**
 * Each image of an inverted pair is rated by the cross-check metric at least 1 / FLANK_RATIO as
 * sharp as the run's sharpest image. A phase sample's contrast peaks about equally either side of
 * focus, and the pair lies on those flanks; a periodic sample's reversal lies beside its far
 * sharper focus (the mesh: Tenengrad 0.018 at −19.5 µm, 1.07 at focus).
 */
const FLANK_RATIO = 4;

/** The method name a focus set by contrast inversion carries in `fallback.metric`. */
export const CONTRAST_SIGN = "contrast-sign";

/**
 * Two images of the run whose details anti-correlate (INVERTED_CORRELATION), at most one FWHM
 * apart, both read by DeepFocus as in focus (within NOT_SHARP_FLOOR_RATIO × the calibration
 * curve's floor) or featureless, and both rated by the cross-check metric at least
 * 1 / FLANK_RATIO as sharp as the run's sharpest image — the nearest such pair; else null (also
 * without a cross-check).
 * An absorbing sample's images either side of focus are alike (a symmetric blur), so its images
 * near focus all correlate positively (the held-out diatoms, pollen and USAF chart: 0.38 or more
 * within ±40 µm of focus). An unstained cell in bright field is a phase object: its contrast grows with defocus on
 * either side of focus with opposite signs (a dark rim one side, a bright one the other), so
 * images either side anti-correlate and focus lies between them, where the sample shows least
 * detail. A periodic sample's contrast reverses too, where the blur's transfer function changes
 * sign a few DOF out (a Born–Wolf mesh at 10×/NA 0.3: −5.5 and −19.5 µm from focus correlate
 * −0.93), but beside its far sharper focus: the FLANK_RATIO condition keeps it out.
 */
export function contrastInversion(run: DeepFocusRun): ContrastInversion | null {
  const inFocusB = NOT_SHARP_FLOOR_RATIO * curveFloor(run.curve);
  const nearUm = run.profile.fwhmUm;
  const sharpest = crossCheckSharpest(run.trace.filter((p) => p.sharpness! > 0));
  if (!sharpest) return null;
  const candidates = run.trace
    .filter((p) => run.thumbs.has(p) && !(p.score > inFocusB) && p.sharpness! * FLANK_RATIO >= sharpest.sharpness!)
    .sort((a, b) => a.zUm - b.zUm);
  let best: ContrastInversion | null = null;
  for (let i = 0; i < candidates.length; i++)
    for (let j = i + 1; j < candidates.length && candidates[j].zUm - candidates[i].zUm <= nearUm; j++) {
      const [lo, hi] = [candidates[i], candidates[j]];
      if (hi.zUm === lo.zUm) continue;
      const correlation = detailCorrelation(run.thumbs.get(lo)!, run.thumbs.get(hi)!);
      if (correlation <= INVERTED_CORRELATION && (!best || hi.zUm - lo.zUm < best.hi.zUm - best.lo.zUm)) best = { lo, hi, correlation };
    }
  return best;
}

/**
 * Focus of a phase sample from a contrast inversion: where its signed contrast crosses zero (a
 * result of `method`), or null when the images left cannot narrow the bracket to FWHM / 4.
 * The signed contrast of an image is its detail projected on the difference of the inverted
 * pair's details (negative on `lo`'s side, positive on `hi`'s); near focus it grows in
 * proportion to defocus, farther out its sign stays. With the images left, the run narrows the
 * bracket by regula falsi (Illinois), each image at the zero of the line through the bracket's
 * ends, until the bracket is narrower than twice the refinement's tolerance; the answer is the
 * zero of the line through the final bracket's ends, with a quarter of its width as uncertainty.
 * The result carries `fallback: { metric: "contrast-sign", confirmed: false }`: DeepFocus reads a
 * phase sample as in focus over several DOF and cannot confirm it.
 */
export async function inversionFocus(run: DeepFocusRun, inversion: ContrastInversion, method: string): Promise<DeepFocusResult | null> {
  const { ctx } = run;
  const d0 = thumbDetail(run.thumbs.get(inversion.lo)!);
  const d1 = thumbDetail(run.thumbs.get(inversion.hi)!);
  const reference = d1.map((v, i) => v - d0[i]);
  const norm = reference.reduce((s, v) => s + v * v, 0);
  const signed = (p: TracePoint): number => {
    const d = thumbDetail(run.thumbs.get(p)!);
    let dot = 0;
    for (let i = 0; i < d.length; i++) dot += d[i] * reference[i];
    return dot / norm;
  };
  const toleranceUm = run.options.toleranceUm ?? DEFAULT_REFINE_TOLERANCE_UM;
  let lo = { p: inversion.lo, s: signed(inversion.lo) };
  let hi = { p: inversion.hi, s: signed(inversion.hi) };
  let kept: "lo" | "hi" | null = null;
  const zero = (): number => lo.p.zUm + ((hi.p.zUm - lo.p.zUm) * lo.s) / (lo.s - hi.s);
  while (run.trace.length < imageBudget(run) && hi.p.zUm - lo.p.zUm > 2 * toleranceUm) {
    const p = await probe(ctx, run.trace, run.t0Ms, zero());
    if (!run.thumbs.has(p)) break;
    const s = signed(p);
    // Illinois: an end kept twice in a row has its value halved, so the line's zero moves off it.
    if (s < 0) {
      lo = { p, s };
      if (kept === "hi") hi.s /= 2;
      kept = "hi";
    } else {
      hi = { p, s };
      if (kept === "lo") lo.s /= 2;
      kept = "lo";
    }
  }
  // Only near focus does the signed contrast grow in proportion to defocus: the line's zero through a wider bracket is a guess.
  if (hi.p.zUm - lo.p.zUm > run.profile.fwhmUm / 4) return null;
  const reason = `DeepFocus reads the images at z=${inversion.lo.zUm.toFixed(1)} and z=${inversion.hi.zUm.toFixed(1)} µm as in focus, and they show the same structure with inverted contrast (correlation ${inversion.correlation.toFixed(2)}): an unstained (phase) sample in bright field, focused where its contrast changes sign (${imagesWhere(run.trace)})`;
  return settleUnconfirmed(run, { zUm: zero(), uncertaintyUm: (hi.p.zUm - lo.p.zUm) / 4 }, method, { metric: CONTRAST_SIGN, reason });
}

/**
 * Where a run should image next to show a phase sample's contrast inversion, or null. An image
 * with no valid tile (featureless) beside images with detail is a phase sign: an absorbing
 * sample's blur grows with distance from focus, so of three images the middle one is never the
 * most featureless, while a phase object in focus shows almost no contrast (simulated unstained
 * cells at 10×/NA 0.3: no valid tile within ±1 µm of focus). When an image within FWHM / 4 of
 * the featureless one reads in focus to DeepFocus, the next image mirrors it about the
 * featureless one (the two then lie either side of focus, `contrastInversion`); when the
 * featureless image lies between images with detail and none near it reads in focus, the next
 * image lies FWHM / 8 from it towards the nearer of them. Never where the run has an image
 * already (within the refinement's tolerance).
 */
export function mirrorProbe(run: DeepFocusRun): number | null {
  const inFocusB = NOT_SHARP_FLOOR_RATIO * curveFloor(run.curve);
  const toleranceUm = run.options.toleranceUm ?? DEFAULT_REFINE_TOLERANCE_UM;
  const { minUm, maxUm } = run.ctx.stage.options;
  const fresh = (zUm: number): boolean => zUm >= minUm && zUm <= maxUm && run.trace.every((p) => Math.abs(p.zUm - zUm) > toleranceUm);
  const textured = run.trace.filter((p) => Number.isFinite(p.score));
  for (const f of run.trace.filter((p) => !Number.isFinite(p.score))) {
    const distance = (p: TracePoint): number => Math.abs(p.zUm - f.zUm);
    const near = textured.filter((p) => p.score <= inFocusB && distance(p) <= run.profile.fwhmUm / 4).sort((a, b) => distance(a) - distance(b));
    if (near.length > 0) {
      const zUm = 2 * f.zUm - near[0].zUm;
      if (fresh(zUm)) return zUm;
      continue;
    }
    const below = textured.filter((p) => p.zUm < f.zUm);
    const above = textured.filter((p) => p.zUm > f.zUm);
    if (below.length === 0 || above.length === 0) continue;
    const nearest = [...below, ...above].sort((a, b) => distance(a) - distance(b))[0];
    const zUm = f.zUm + Math.sign(nearest.zUm - f.zUm) * (run.profile.fwhmUm / 8);
    if (fresh(zUm)) return zUm;
  }
  return null;
}

/** Whether the run's images show a phase sample (a contrast inversion, or a featureless image to image beside: `mirrorProbe`): its search and refinement stop for `phaseFocus`. */
export function phaseSign(run: DeepFocusRun): boolean {
  return contrastInversion(run) !== null || mirrorProbe(run) !== null;
}

/**
 * A phase sample's focus (`inversionFocus`, a result of `method`) once the run's images show a
 * contrast inversion, imaging where `mirrorProbe` says while the budget lasts; null when they
 * show none (the run goes on as DeepFocus's).
 */
export async function phaseFocus(run: DeepFocusRun, method: string): Promise<DeepFocusResult | null> {
  for (;;) {
    const inversion = contrastInversion(run);
    if (inversion) return await inversionFocus(run, inversion, method);
    const zUm = mirrorProbe(run);
    if (zUm === null || run.trace.length >= imageBudget(run)) return null;
    await probe(run.ctx, run.trace, run.t0Ms, zUm);
  }
}
