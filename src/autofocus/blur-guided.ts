import type { FieldMatch } from "../focus/calibration-match.js";
import { blurMatchFocusUm } from "../focus/blur-match.js";
import { imageBudget, initialSpacingUm, refineHalfSpanUm } from "./bracket.js";
import { crossCheckSharpest, DECISIVE_LOG_RATIO } from "./cross-check.js";
import { BLUR_MATCH_IMAGES, type DeepFocusRun } from "./deepfocus.js";
import { probeAll } from "./probe.js";
import { pairMatch, refused } from "./triple.js";
import type { TracePoint } from "./types.js";

/**
 * Few-image runs guided by blur matching. With a budget of 4 or 5 images, one or two are left
 * after the paper's first triple: too few for a refinement triple, and golden-section images
 * chasing the lowest reading answered far off or not at all (docs/benchmarks.md, "Blur matching
 * places the last images of 4- and 5-image runs"). Blur matching between the triple's images
 * puts focus at e (focus/blur-match.ts, about a µm within ±60 µm of the start); the images left
 * make a DeepFocus pair about e, and the pair's focus (`matchPairField`: from the calibration
 * curve's shape, whatever the sample's gain) is the answer:
 * - two left: images at e ± h, h the refinement's first half-span (FWHM / 8). The answer stands
 *   when it lies within h / 2 of e: farther, blur matching may have missed by more than h, and
 *   a pair beside focus still fits a shift between its images.
 * - one left: the image mirroring about e the triple's image nearest e, so the pair is even about
 *   focus and the calibration sample's shape cancels; only when that image lies within the first
 *   spacing of e (a wider pair spans far parts of the curve, where samples differ by more than a
 *   gain). Farther, the run refuses without spending the image; when that image lies within h / 4
 *   of e, the paper's search goes on.
 * Either answer stands only where the cross-check metric does not contradict it (`crossCheckAgrees`).
 * A run whose pair does not hold refuses ("unbracketed"). Not used without blur growth, for
 * tracking runs (their first images are not the triple), or when the pair leaves the stage range.
 */

/** The blur-guided pair of a run (`DeepFocusRun.blurGuided`). */
export interface BlurGuidedPair {
  /** Where blur matching between the first triple puts focus (µm). */
  blurFocusUm: number;
  /** The pair's images, or null when blur matching put focus too far for one image to pin. */
  pair: { lo: TracePoint; hi: TracePoint } | null;
  /** The pair's answer stands only this close to `blurFocusUm` (µm). */
  maxOffsetUm: number;
}

/**
 * After the first triple of a run with 1 or 2 images left: takes the images of the blur-guided
 * pair (see module comment) and records it in `run.blurGuided`. False (nothing taken) when the
 * run is not such a run or blur matching gives no focus; the caller goes on with the paper's
 * golden-section search.
 */
export async function blurGuidedImages(run: DeepFocusRun): Promise<boolean> {
  const left = imageBudget(run) - run.trace.length;
  if (run.trace.length !== BLUR_MATCH_IMAGES || left < 1 || left > 2) return false;
  const eUm = blurMatchStart(run);
  if (eUm === null) return false;
  const halfSpanUm = refineHalfSpanUm(run);
  const nearest = run.trace.reduce((a, b) => (Math.abs(b.zUm - eUm) < Math.abs(a.zUm - eUm) ? b : a));
  if (left === 1 && Math.abs(nearest.zUm - eUm) > initialSpacingUm(run)) {
    run.blurGuided = { blurFocusUm: eUm, pair: null, maxOffsetUm: 0 };
    return true;
  }
  // A mirror image closer than h/2 to its twin makes a pair too narrow to read (the paper's search goes on).
  if (left === 1 && Math.abs(nearest.zUm - eUm) < halfSpanUm / 4) return false;
  const zs = left === 2 ? [eUm - halfSpanUm, eUm + halfSpanUm] : [2 * eUm - nearest.zUm];
  const { minUm, maxUm } = run.ctx.stage.options;
  if (zs.some((zUm) => !(zUm >= minUm && zUm <= maxUm))) return false;
  const taken = await probeAll(run.ctx, run.trace, run.t0Ms, zs);
  const [lo, hi] = (left === 2 ? taken : [nearest, taken[0]]).sort((a, b) => a.zUm - b.zUm);
  run.blurGuided = { blurFocusUm: eUm, pair: { lo, hi }, maxOffsetUm: left === 2 ? halfSpanUm / 2 : Infinity };
  return true;
}

/** The answer of a blur-guided run (`run.blurGuided`): the pair's focus, or `first` refused as "unbracketed". */
export function blurGuidedAnswer(run: DeepFocusRun, guided: BlurGuidedPair, first: FieldMatch): FieldMatch {
  const match = guided.pair && pairMatch(run, guided.pair.lo, guided.pair.hi, first);
  const holds = match !== null && Math.abs(match.shiftUm! - guided.blurFocusUm) <= guided.maxOffsetUm && crossCheckAgrees(run, guided.pair!, match.shiftUm!);
  return holds ? match : refused(first, "unbracketed");
}

/**
 * The cross-check metric does not contradict a pair's answer: the image it rates sharpest of the
 * run lies within the pair, and when it rates one pair image decisively (DECISIVE_LOG_RATIO)
 * sharper than the other, the answer lies nearer that one. (True without a cross-check.) A
 * periodic sample reads alike to DeepFocus at its contrast reversals, and blur matching
 * misreads it near focus: the pair then brackets a false focus that a gradient metric, peaking
 * sharply at true focus, disowns.
 */
function crossCheckAgrees(run: DeepFocusRun, pair: { lo: TracePoint; hi: TracePoint }, answerUm: number): boolean {
  const sharpest = crossCheckSharpest(run.trace);
  if (sharpest === null) return true;
  if (sharpest.zUm < pair.lo.zUm || sharpest.zUm > pair.hi.zUm) return false;
  const [l, h] = [pair.lo.sharpness, pair.hi.sharpness];
  if (!(l! > 0 && h! > 0)) return true;
  const lead = Math.log(h! / l!);
  if (Math.abs(lead) < DECISIVE_LOG_RATIO) return true;
  const nearerHi = Math.abs(answerUm - pair.hi.zUm) < Math.abs(answerUm - pair.lo.zUm);
  return nearerHi === lead > 0;
}

/**
 * The answer of a run whose first three images are all it has (a budget of 3), checked against
 * blur matching between those images — the one other estimate of focus there is, and one that
 * reads the optics, not the sample: DeepFocus's curve shift from three images far out lands
 * tens of µm off where the sample's curve differs from the calibration's (a periodic mesh, real
 * gravel and grass from 80–100 µm: 35–66 µm off), where blur matching stays within a few µm; it
 * in turn falls short far out through disc-like PSFs (Born–Wolf pollen from 100 µm: 33 µm),
 * where DeepFocus does not. Where the two lie more than the refinement's first half-span (FWHM / 8)
 * apart, no image is left to tell which is right, and the run refuses ("disputed"); where they
 * agree, focus is their mean, and the uncertainty at least half their difference (on the
 * selection stacks their errors often had opposite signs). `match` as it is without blur
 * matching, when it has a problem, or when the run has more images.
 */
export function blurConfirmed(run: DeepFocusRun, match: FieldMatch): FieldMatch {
  const blurUm = run.trace.length === BLUR_MATCH_IMAGES ? blurMatchStart(run) : null;
  if (blurUm === null || match.problem !== null || match.shiftUm === null) return match;
  const gapUm = Math.abs(blurUm - match.shiftUm);
  if (gapUm > refineHalfSpanUm(run)) return refused(match, "disputed");
  return { ...match, shiftUm: (match.shiftUm + blurUm) / 2, uncertaintyUm: Math.max(match.uncertaintyUm, gapUm / 2) };
}

/**
 * Blur matching's focus when it lies more than half the first image spacing from `estimateUm`,
 * else null (no blur growth, or the two agree). DeepFocus reads some samples wrongly far out
 * (flat, or saturating at a mid-range reading), where blur matching, which compares the images
 * with each other, still reads the optics: the refinement then starts at blur matching's focus
 * (refine.ts `startEstimate`).
 */
export function blurDisputes(run: DeepFocusRun, estimateUm: number): number | null {
  const blurUm = blurMatchStart(run);
  return blurUm !== null && Math.abs(blurUm - estimateUm) > initialSpacingUm(run) / 2 ? blurUm : null;
}

/**
 * Focus by blur matching between the run's first three images (within the stage range), or null
 * without blur growth or before the third image. Computed once per run (`run.blurFocusUm`): the
 * search, the refinement's start and a fallback's refinement all ask for it.
 */
export function blurMatchStart(run: DeepFocusRun): number | null {
  if (run.blurFocusUm !== undefined) return run.blurFocusUm;
  const growth = run.options.blurGrowthPx2PerUm2;
  if (growth === undefined || run.trace.length < BLUR_MATCH_IMAGES) return null;
  const images = run.trace.slice(0, BLUR_MATCH_IMAGES).flatMap((p) => {
    const thumb = run.thumbs.get(p);
    return thumb ? [{ zUm: p.zUm, thumb }] : [];
  });
  const zUm = blurMatchFocusUm(images, growth);
  const { minUm, maxUm } = run.ctx.stage.options;
  run.blurFocusUm = zUm === null ? null : Math.min(maxUm, Math.max(minUm, zUm));
  return run.blurFocusUm;
}
