import { FocusNotFoundError } from "../errors.js";
import { brentMaximize } from "../focus/brent.js";
import { GOLDEN_RATIO } from "../focus/golden.js";
import type { FieldMatch } from "../focus/calibration-match.js";
import { runSearch } from "../focus/search.js";
import { median, robustSd } from "../focus/stats.js";
import { MIN_PEAK_SIGMAS, STRONG_PEAK_RELATIVE } from "./classical.js";
import { finish, matchTrace, settleUnconfirmed, type DeepFocusResult, type DeepFocusRun } from "./deepfocus.js";
import { crossCheckSharpest } from "./cross-check.js";
import { imageBudget, TRIPLE_IMAGES } from "./bracket.js";
import { probe } from "./probe.js";
import { sharpnessValley, valleyAnswer } from "./phase-sample.js";
import { refine } from "./refine.js";
import { metricPeak, MIN_PEAK_IMAGES, nextPeakImage, sharpnessPoints, type SharpPoint } from "./metric-peak.js";
import type { TracePoint } from "./types.js";

/**
 * The end game when DeepFocus refuses. DeepFocus refuses where its scores stop carrying depth —
 * sparse or dense fine textures far out of focus, beyond the calibration's capture range, and
 * samples that read far above the calibration's floor even in focus — but the cross-check
 * metric (Tenengrad by default) has scored every image already and still ranks them, and near
 * focus DeepFocus often works again. So the run goes on from the images it has:
 * 1. step outward past the sharpest image (by the metric) until one is less sharp on both sides;
 * 2. the sharpest image must stand clearly above the others: above their median by
 *    STRONG_PEAK_RELATIVE of it *and* by MIN_PEAK_SIGMAS robust SDs (both of the classical
 *    search's tests; over a whole sweep it needs one) — or the images must show the metric's own
 *    clear peak (`metricPeak`), and while they do not, images are added where they can settle
 *    that (`nextPeakImage`: into a wide gap beside the sharpest image, or farther out on a flank
 *    that has not fallen enough), back to 1. with each. Far out of focus a classical metric
 *    measures noise, and on a replayed stack frames between two planes are blends whose noise the
 *    replay restores only on average, so noise alone makes local maxima;
 * 3. bounded Brent in that bracket down to FWHM / 8, keeping one triple of the budget;
 * 4. the DeepFocus refinement (`refine`, with its cross-check) from there, and `finish`;
 * 5. when no triple confirms focus (or no images are left for one), the metric's own peak
 *    among all the images answers if it is clear (`metricPeak`), unconfirmed by DeepFocus.
 * The result says which metric brought the run back, why DeepFocus refused and whether
 * DeepFocus confirmed the answer (`fallback`).
 * @throws FocusNotFoundError the DeepFocus refusal, with what the fallback found, when the
 *   stage range, the budget or the metric's noise leaves no bracket or no clear peak.
 */
export async function sharpnessFallback(run: DeepFocusRun, refusal: FocusNotFoundError): Promise<DeepFocusResult> {
  const { ctx, trace, options } = run;
  const metric = ctx.sharpness?.id;
  if (!metric) throw refusal;
  const budget = imageBudget(run);
  const { minUm, maxUm } = ctx.stage.options;
  const fail = (why: string) => new FocusNotFoundError(`${refusal.message}; ${metric} on the same images ${why}`, refusal.reason);

  let bracket: NonNullable<ReturnType<typeof bracketOf>>;
  for (;;) {
    let found: ReturnType<typeof bracketOf>;
    while (!(found = bracketOf(trace))) {
      if (trace.length >= budget) throw fail(`found no bracket of focus within the budget of ${options.maxImages} images`);
      const next = outwardStep(trace, minUm, maxUm);
      if (next === null) throw fail("is sharpest at the stage limit");
      await probe(ctx, trace, run.t0Ms, next);
    }
    bracket = found;
    const noPeak = peakTest(sharpnessPoints(trace));
    const ownPeak = noPeak && metricPeak(trace, run.curve, run.profile.fwhmUm);
    if (typeof ownPeak !== "string") break;
    const next = trace.length < budget ? nextPeakImage(trace, run.profile.fwhmUm, minUm, maxUm) : null;
    if (next === null) throw fail(`${noPeak}, and it ${ownPeak}`);
    await probe(ctx, trace, run.t0Ms, next);
  }

  const { lo, best, hi } = bracket;
  const brentImages = budget - trace.length - TRIPLE_IMAGES;
  const sharpnessAt = async (zUm: number): Promise<number> => (zUm === best.zUm ? best.sharpness : ((await probe(ctx, trace, run.t0Ms, zUm)).sharpness ?? Number.NaN));
  const estimateUm = brentImages > 0 ? (await runSearch(brentMaximize(lo.zUm, hi.zUm, { toleranceUm: run.profile.fwhmUm / 8, maxEvaluations: brentImages + 1, x0: best.zUm }), sharpnessAt)).x : best.zUm;
  const seed: FieldMatch = { ...matchTrace(run), shiftUm: estimateUm, problem: null };
  const match = await refine(run, seed);
  // finish's own `fallback` (a sharpness valley's answer) wins.
  if (match.problem === null && match.shiftUm !== null && match !== seed) return { fallback: { metric, reason: refusal.message, confirmed: true }, ...(await finish(run, match, "deepfocus")) };
  const peak = metricPeak(trace, run.curve, run.profile.fwhmUm);
  if (typeof peak === "string") throw fail(`peaked near ${estimateUm.toFixed(1)} µm, but no image triple there confirmed focus within the budget of ${options.maxImages} images, and it ${peak}`);
  const valley = sharpnessValley(run);
  if (valley) return valleyAnswer(run, valley);
  return settleUnconfirmed(run, peak, "deepfocus", { metric, reason: refusal.message });
}

/** Why the sharpest of `pts` is no focus peak, or null when it is one. */
function peakTest(pts: readonly { sharpness: number }[]): string | null {
  if (pts.length < MIN_PEAK_IMAGES) return `has too few images (${pts.length}) to tell a focus peak from noise`;
  const s = pts.map((p) => p.sharpness);
  const best = Math.max(...s);
  const med = median(s);
  const sigma = robustSd(s);
  const relative = (best - med) / Math.max(Math.abs(med), Number.EPSILON);
  if (relative > STRONG_PEAK_RELATIVE && best - med > MIN_PEAK_SIGMAS * sigma) return null;
  return `shows no focus peak (sharpest ${(relative * 100).toFixed(1)} % and ${((best - med) / Math.max(sigma, Number.EPSILON)).toFixed(1)} noise SD above the median)`;
}

/** The sharpest image with a less sharp image on each side, or null when it lies at an end. */
function bracketOf(trace: readonly TracePoint[]): { lo: SharpPoint; best: SharpPoint; hi: SharpPoint } | null {
  const pts = sharpnessPoints(trace);
  const sharpest = crossCheckSharpest(pts);
  const i = sharpest === null ? -1 : pts.indexOf(sharpest);
  return i > 0 && i < pts.length - 1 ? { lo: pts[i - 1], best: pts[i], hi: pts[i + 1] } : null;
}

/** The next position beyond the sharpest end image: GOLDEN_RATIO × its distance to its neighbour, within the stage; null at the limit. */
function outwardStep(trace: readonly TracePoint[], minUm: number, maxUm: number): number | null {
  const pts = sharpnessPoints(trace);
  if (pts.length < 2) return null;
  const atTop = pts.every((p) => p.sharpness <= pts[pts.length - 1].sharpness);
  const [end, inner] = atTop ? [pts[pts.length - 1], pts[pts.length - 2]] : [pts[0], pts[1]];
  const zUm = Math.min(maxUm, Math.max(minUm, end.zUm + GOLDEN_RATIO * (end.zUm - inner.zUm)));
  return Math.abs(zUm - end.zUm) < 1e-9 ? null : zUm;
}
