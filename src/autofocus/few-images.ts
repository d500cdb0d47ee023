import type { FieldMatch } from "../focus/calibration-match.js";
import { imageBudget, initialSpacingUm, refineHalfSpanUm, TRIPLE_IMAGES } from "./bracket.js";
import { DECISIVE_LOG_RATIO, sharpnessLead } from "./cross-check.js";
import type { DeepFocusRun } from "./deepfocus.js";
import { probeAll } from "./probe.js";
import { imageAt, lowestImage, neighbourTriple, pairMatch } from "./triple.js";
import type { TracePoint } from "./types.js";

/**
 * The answer of a run with fewer than 3 images of its budget left after the search, so no
 * refinement triple (budgets up to 5), when its images bracket focus (`fewImageBracket`), read
 * by an even pair when images are left (`evenPair`); null otherwise (the caller keeps its
 * first match, or refines when images are left for that).
 */
export async function fewImageAnswer(run: DeepFocusRun, first: FieldMatch): Promise<FieldMatch | null> {
  const left = imageBudget(run) - run.trace.length;
  if (left >= TRIPLE_IMAGES) return null;
  const bracket = fewImageBracket(run, first);
  return bracket === null ? null : evenPair(run, bracket, left);
}

/** A pair of images around focus and the focus it gives. */
export interface PairAnswer {
  match: FieldMatch;
  lo: TracePoint;
  hi: TracePoint;
}

/**
 * The answer of a run with no budget for a refinement triple, when its images bracket focus:
 * DeepFocus reads its sharpest image between two others and the cross-check calls neither of
 * those decisively sharper. Focus then follows from that neighbour pair by the curve's shape
 * (`matchPairField`), whatever the sample's gain against the calibration sample — which the
 * shift fit of `first` takes for defocus (a sample reading 20 % below the calibration puts it
 * several µm off, or fails its residual test). Only for a pair within the run's first spacing
 * on each side of that image: farther out, samples' curves differ from the calibration sample's
 * by more than a gain (on the held-out bench, 5-image runs whose pairs spanned golden-section
 * images 60–95 µm apart answered up to 30 µm off). Null when the images do not bracket, the pair
 * is wider, or it does not hold.
 */
function fewImageBracket(run: DeepFocusRun, first: FieldMatch): PairAnswer | null {
  const scored = run.trace.filter((p) => Number.isFinite(p.score)).sort((a, b) => a.zUm - b.zUm);
  const triple = neighbourTriple(scored, lowestImage(run), initialSpacingUm(run));
  if (triple === null) return null;
  const [lo, mid, hi] = triple;
  const lead = sharpnessLead(lo, mid, hi);
  if (lead !== null && lead <= -DECISIVE_LOG_RATIO) return null;
  const match = pairMatch(run, lo, hi, first);
  return match === null ? null : { match, lo, hi };
}

/**
 * Spends the images a few-image run (or a refinement the budget stopped) has left, at most 2, on
 * a pair placed evenly about the bracket's answer e: two images at e ± FWHM/8 (the refinement's
 * first half-span), or one that mirrors the bracket's outer image nearer e. Images equally far
 * from focus read alike on any sample whose curve is symmetric, so where that sample's curve
 * differs from the calibration's in shape, not only in gain, the pair is no longer biased by it.
 * The bracket's answer stands when the images do not fit in the stage limits or the budget, or
 * the new pair does not hold.
 */
export async function evenPair(run: DeepFocusRun, bracket: PairAnswer, left: number): Promise<FieldMatch> {
  if (left < 1) return bracket.match;
  const e = bracket.match.shiftUm!;
  const near = Math.abs(bracket.lo.zUm - e) < Math.abs(bracket.hi.zUm - e) ? bracket.lo : bracket.hi;
  const halfSpanUm = refineHalfSpanUm(run);
  const zs = left >= 2 ? [e - halfSpanUm, e + halfSpanUm] : [near.zUm, 2 * e - near.zUm].sort((a, b) => a - b);
  const { minUm, maxUm } = run.ctx.stage.options;
  const fresh = zs.filter((zUm) => imageAt(run, zUm) === undefined);
  if (fresh.length > left || zs.some((zUm) => !(zUm >= minUm && zUm <= maxUm))) return bracket.match;
  await probeAll(run.ctx, run.trace, run.t0Ms, fresh);
  const [lo, hi] = zs.map((zUm) => imageAt(run, zUm)!);
  return pairMatch(run, lo, hi, bracket.match) ?? bracket.match;
}
