import { curveAt, curveCeiling, curveFloor, type FieldMatch } from "../focus/calibration-match.js";
import { imageBudget, initialPoints, oneRefinementTriple, refineHalfSpanUm, TRIPLE_IMAGES } from "./bracket.js";
import { DECISIVE_LOG_RATIO, NEAR_FOCUS_LOG_RATIO, sharpestLead, sharpnessPedestal } from "./cross-check.js";
import { BLUR_MATCH_IMAGES, matchTrace, NOT_SHARP_FLOOR_RATIO, sharperElsewhere, type DeepFocusRun } from "./deepfocus.js";
import { blurDisputes, blurMatchStart } from "./blur-guided.js";
import { probeAll } from "./probe.js";
import { bracketMatch, imageAt, judgeTriple, lowestImage, PEAK_FIT_WIDTHS, refused } from "./triple.js";
import { evenPair, type PairAnswer } from "./few-images.js";
import { takenBracket } from "./taken-bracket.js";
import { phaseSign } from "./contrast-inversion.js";
import type { TracePoint } from "./types.js";

/** Default convergence tolerance of the refinement (µm): it stops when the estimate moves less. */
export const DEFAULT_REFINE_TOLERANCE_UM = 0.25;

/**
 * Bracketing refinement after the paper's search, when ≥ 3 images of the budget remain and while
 * a triple's new images fit in it: images at e − h, e, e + h around the current estimate e. When
 * the middle one has the lowest ROI score they bracket focus, and each tile's focus follows from
 * the outer pair by the calibration curve's shape alone (`pairShift`: a sample whose curve
 * differs from the calibration sample's by a gain is still found, and any symmetric shape
 * difference vanishes as e approaches focus); the robust aggregate is the next estimate, until it
 * moves by less than the tolerance. h starts at `refineHalfSpanUm` (default FWHM / 8) and shrinks
 * to 3× the last move, not below half its start (closer in, the curve's floor drowns the signal
 * in noise). When a triple does not bracket, the next one is centred on its better outer image
 * with h doubled again (up to its start) — or, near focus (both images within NOT_SHARP_FLOOR_RATIO ×
 * the curve's floor), where that would repeat a triple already taken, midway between the two.
 * A triple reuses the images it shares with earlier ones,
 * so walking towards focus one half-span at a time costs one image per step.
 *
 * With a cross-check metric (`TracePoint.sharpness`, see cross-check.ts) the triple is judged by
 * it first. Where it is decisive (its middle image at least 10 % sharper than both outer ones, or
 * an outer one 10 % sharper than the middle; above the pedestal on the peak, `sharpnessLead`) it decides: the triple brackets focus, or the next
 * one is centred on that outer image — whatever DeepFocus says, because near focus the DeepFocus
 * curve has its floor and a periodic sample's is flat for several DOF (once defocus has removed
 * its harmonics a pure, focus-like sinusoid remains), while a gradient metric peaks sharply. Such
 * a bracketing triple's focus is the vertex of the cross-check's peak above its pedestal
 * (`sharpnessPeakMatch`, `sharpnessPedestal`), and
 * the next triple is centred there with h ≈ the peak's width σ, until the vertex moves less than
 * the tolerance with h ≤ 1.5 σ (the vertex of a triple much wider than the peak leans to the
 * middle image; the iteration removes that for any symmetric peak). On the budget's last
 * triple the DeepFocus outer pair gives focus instead when DeepFocus brackets too and that
 * match holds, and so it does on the one before when that is wider than 1.5 σ (`bracketMatch`).
 * Where DeepFocus is steep — every image of the triple well above the calibration curve's
 * floor, its scores falling monotonically by ≥ 10 % towards one outer image — a cross-check
 * that disagrees (brackets, or points the other way) is overruled (`deepfocusPoints`). Where
 * DeepFocus reads the middle image as blurrier than any plane of the calibration sweep, focus is
 * far (unless the sample reads many times the calibration sample) and the cross-check does not
 * decide, it may only veto a DeepFocus bracket: a gradient metric's peak that far out is a false
 * one (contrast of a defocused sparse or phase-like sample).
 * Where the cross-check is within its noise (far from focus it flattens), DeepFocus decides, and
 * a triple brackets only when the cross-check's middle image is not less sharp than both outer
 * ones — unless DeepFocus reads all three alike (within 2 %) at its floor: which it reads lowest
 * is then noise, and the cross-check decides by any lead (`judgeTriple`). Where the refinement starts: see `startEstimate`. Any answer stands only if a triple
 * bracketed it; when the walk ends without one, a triple or pair among all the images taken may
 * (`takenBracket`: also where the walk's last step crossed focus). When the budget stops the
 * refinement after a bracket, before it converged (the next triple needs more images than are
 * left), one image left mirrors the bracket's outer image nearer its answer about that answer and
 * the pair's focus is the answer (`evenPair`): on the held-out and pictures selection sets this
 * halved the mean error of 7–8-image runs (docs/benchmarks.md, "One refinement triple"; two images
 * at e ± h read worse). When the walk's next step would take the budget's last image, that image
 * is placed from the DeepFocus readings so that its triple brackets focus (`lastWalkTriple`).
 *
 * It stops, before the next triple, once the images show an unstained sample (`phaseSign`:
 * deepfocus.ts then focuses by the sign of its contrast).
 *
 * With fewer than 3 images left after the search (budgets up to 5) it returns `first`, unless the
 * images read flat and low (`readsFlat`: the shift fit lands anywhere on such a stretch; real
 * gravel and grass pictures were answered 24–41 µm off); `searchAnswer` (deepfocus.ts) tries
 * the blur-guided pair and `fewImageAnswer` before it.
 *
 * @returns the last bracketed match (rmsResidual: the first match's), `first` when no
 *   refinement was possible, a match with problem "flat" when none was and the images read flat
 *   and low, or one with problem "unbracketed" when no triple bracketed focus.
 */
export async function refine(run: DeepFocusRun, first: FieldMatch): Promise<FieldMatch> {
  const { ctx, options, curve } = run;
  const left = (): number => imageBudget(run) - run.trace.length;
  if (left() < TRIPLE_IMAGES) return readsFlat(run) ? refused(first, "flat") : first;
  const start = startEstimate(run, first);
  if (start === null) return first;
  let estimateUm: number = start;

  const { minUm, maxUm } = ctx.stage.options;
  const firstHalfSpanUm = refineHalfSpanUm(run);
  let halfSpanUm = firstHalfSpanUm;
  const toleranceUm = options.toleranceUm ?? DEFAULT_REFINE_TOLERANCE_UM;
  const floorB = curveFloor(curve);
  let last: FieldMatch | null = null;
  let lastBracket: PairAnswer | null = null;
  let nextTriple: number[] | null = null;
  for (;;) {
    // Images of a phase sample either side of focus: the run focuses by their contrast's sign instead (deepfocus.ts).
    if (phaseSign(run)) break;
    const triple = nextTriple ?? initialPoints(estimateUm, halfSpanUm, minUm, maxUm);
    nextTriple = null;
    const fresh = triple.filter((zUm) => imageAt(run, zUm) === undefined);
    if (fresh.length === 0 || fresh.length > left()) {
      // Not converged, and the next triple does not fit in the images left (or repeats one): one of them makes an even pair about the answer.
      if (lastBracket !== null && left() > 0) last = await evenPair(run, lastBracket, 1);
      break;
    }
    await probeAll(ctx, run.trace, run.t0Ms, fresh);
    const [pLo, pMid, pHi] = triple.map((zUm) => imageAt(run, zUm)!);
    const pedestal = sharpnessPedestal(run.trace);
    const verdict = judgeTriple(run, pLo, pMid, pHi, pedestal);
    if (verdict.kind === "stop") break;
    if (verdict.kind === "recentre") {
      const { to } = verdict;
      const nextHalfSpanUm = Math.min(firstHalfSpanUm, 2 * halfSpanUm);
      const nearFloor = Math.max(pMid.score, to.score) <= NOT_SHARP_FLOOR_RATIO * floorB;
      if (nearFloor && initialPoints(to.zUm, nextHalfSpanUm, minUm, maxUm).every((zUm) => imageAt(run, zUm) !== undefined)) {
        // Near focus, the walk would go back to a triple already taken: the two metrics disagree, within their noise,
        // which of the middle image and that neighbour is sharper. Focus lies between them: the next triple is centred midway.
        halfSpanUm = Math.abs(to.zUm - pMid.zUm) / 2;
        estimateUm = (to.zUm + pMid.zUm) / 2;
        continue;
      }
      estimateUm = to.zUm;
      halfSpanUm = nextHalfSpanUm;
      if (left() === 1) nextTriple = lastWalkTriple(run, pLo, pMid, pHi, to);
      continue;
    }
    const bracket = bracketMatch(run, pLo, pMid, pHi, verdict, left(), pedestal);
    if (bracket === null) {
      last = null;
      break;
    }
    last = { ...bracket.match, rmsResidual: first.rmsResidual };
    lastBracket = { match: last, lo: pLo, hi: pHi };
    const movedUm = Math.abs(bracket.match.shiftUm! - estimateUm);
    estimateUm = bracket.match.shiftUm!;
    if (verdict.decisive) {
      // The cross-check decided: the next triple spans about ±σ of its peak, where the vertex is pinned best (centred on the
      // DeepFocus pair's focus when the vertex would not converge in the images left, `bracketMatch`); a vertex is done once
      // the triple fits the peak.
      const nextUm = Math.min(firstHalfSpanUm, Math.max(firstHalfSpanUm / 8, bracket.widthUm ?? halfSpanUm));
      if (movedUm <= toleranceUm && (!bracket.byPeak || halfSpanUm <= PEAK_FIT_WIDTHS * nextUm)) break;
      halfSpanUm = nextUm;
      continue;
    }
    if (movedUm <= toleranceUm) break;
    halfSpanUm = Math.max(firstHalfSpanUm / 2, Math.min(halfSpanUm, 3 * movedUm));
  }
  if (last === null) last = takenBracket(run, first);
  return last ?? refused(first, "unbracketed");
}

/**
 * The walk's next triple when its new image is the budget's last: `to` (the outer image the walk
 * recentres on), the middle image, and the new one where the triple brackets focus if DeepFocus
 * is right — the middle image mirrored about the focus the triple's DeepFocus readings give
 * (`matchTrace`), and WALK_FIT_MARGIN walk steps farther, so that it still brackets when that
 * focus is up to 3/4 of a step short (the outer pair stays about even), not one step past `to`.
 * Only when those readings fall from the far image through the middle one to `to`, `to` reads
 * WALK_FIT_FLOOR_RATIO × the curve's floor or more (on its slope, where a reading gives a
 * distance), and that focus lies beyond `to`; never nearer `to` than the walk's own step. Null
 * otherwise (the walk's step). From 80–100 µm out blur matching overshoots pollen's focus by
 * 16–33 µm (two to four half-spans), and a walk one half-span per image ended its 7-image runs
 * with the last image near focus and none beyond it (docs/benchmarks.md, "The last image of a
 * walk").
 */
function lastWalkTriple(run: DeepFocusRun, pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, to: TracePoint): number[] | null {
  const far = to === pLo ? pHi : pLo;
  if (!(to.score < pMid.score && pMid.score < far.score && to.score >= WALK_FIT_FLOOR_RATIO * curveFloor(run.curve))) return null;
  const fit = matchTrace(run, [pLo, pMid, pHi]);
  const dir = Math.sign(to.zUm - pMid.zUm);
  if (fit.problem !== null || fit.shiftUm === null || !((fit.shiftUm - to.zUm) * dir > 0)) return null;
  const walkStepUm = Math.abs(to.zUm - pMid.zUm);
  const stepUm = Math.max(walkStepUm, Math.abs(2 * fit.shiftUm - pMid.zUm - to.zUm) + WALK_FIT_MARGIN * walkStepUm);
  const zUm = to.zUm + dir * stepUm;
  const { minUm, maxUm } = run.ctx.stage.options;
  return zUm >= minUm && zUm <= maxUm ? [zUm, to.zUm, pMid.zUm].sort((a, b) => a - b) : null;
}

/** A reading this many times the calibration curve's floor lies on the curve's slope (see `lastWalkTriple`). */
const WALK_FIT_FLOOR_RATIO = 1.25;
/** The last image lies this many walk steps past the mirror image (see `lastWalkTriple`). */
const WALK_FIT_MARGIN = 0.5;

/**
 * The refinement's first estimate. When the search took only the paper's triple and blur
 * matching between those three images puts focus somewhere (the search then ends there,
 * deepfocus.ts `searchImages`): that focus — on unseen samples the closer start
 * (docs/benchmarks.md, "Blur matching places the last images of 4- and 5-image runs": 6 images
 * 0.195 µm / 75 refused → 0.148 / 40; "One refinement triple") — unless the budget leaves room
 * for two refinement triples or more (not `oneRefinementTriple`) and the cross-check rates an
 * image over twice as sharp as every other (NEAR_FOCUS_LOG_RATIO): focus is within its reach,
 * and the walk from it has the images, while blur matching misreads a periodic sample near
 * focus (with one triple only, blur matching's focus is the better start). Otherwise the
 * first match's shift; for the "residual" problem (the scores' level does not fit the curve) a
 * retry with a free gain per tile (`freeGainEstimate`) — either one overruled by blur matching
 * between the first three images when that puts focus more than half the first spacing away
 * (`blurDisputes`: a sample DeepFocus reads wrongly far out). When there is no such estimate, or
 * the images read flat and low (`readsFlat`: such a sample fits the curve anywhere on its flat
 * stretch): the sharpest image so far when the cross-check rates one decisively sharper than
 * every other (focus within its reach) — unless it leads by less than 2× (NEAR_FOCUS_LOG_RATIO)
 * and blur matching disputes that image too (a sparse sample 50–90 µm out: a gradient metric
 * rates the triple's nearest image 10–15 % sharper, and a walk from there ran out of images) —
 * else blur matching, else that sharpest image; only with the cross-check, which keeps a start
 * on a false minimum from being confirmed. Null: no start.
 */
function startEstimate(run: DeepFocusRun, first: FieldMatch): number | null {
  const blurUm = run.trace.length === BLUR_MATCH_IMAGES ? blurMatchStart(run) : null;
  if (blurUm !== null) {
    const nearImage = !oneRefinementTriple(run) && run.ctx.sharpness && sharpestLead(run.trace) >= NEAR_FOCUS_LOG_RATIO ? sharpestImage(run) : null;
    return nearImage ?? blurUm;
  }
  const estimate = first.problem === null ? first.shiftUm : first.problem === "residual" ? freeGainEstimate(run) : null;
  if (estimate !== null && !readsFlat(run)) {
    return blurDisputes(run, estimate) ?? estimate;
  }
  const sharpest = run.ctx.sharpness ? sharpestImage(run) : null;
  const lead = sharpestLead(run.trace);
  if (sharpest !== null && lead >= DECISIVE_LOG_RATIO) return lead >= NEAR_FOCUS_LOG_RATIO ? sharpest : (blurDisputes(run, sharpest) ?? sharpest);
  return blurMatchStart(run) ?? sharpest;
}

/**
 * z of the image with the lowest DeepFocus score so far, or null when none has one — unless the
 * cross-check rates another image decisively sharper where DeepFocus reads that one as not in
 * focus (`sharperElsewhere`, which would refuse an answer there): then that other image. Samples
 * that saturate low read flat to DeepFocus far out, and its lowest image there is chance.
 */
function sharpestImage(run: DeepFocusRun): number | null {
  const lowest = lowestImage(run);
  if (lowest === null) return null;
  return sharperElsewhere(run, lowest.zUm)?.zUm ?? lowest.zUm;
}

/**
 * The sample reads flat and low to DeepFocus where the images are: the image DeepFocus reads
 * lowest reads below 1/IMPLAUSIBLE_GAIN of the calibration curve's ceiling, and
 * `sharperElsewhere` holds for it (the cross-check rates another image decisively sharper where
 * DeepFocus reads it ≥ NOT_SHARP_FLOOR_RATIO × its floor, or 2× sharper where DeepFocus reads both
 * near its floor — as dust shadows on the camera window read far from focus). Real dense or sparse fields saturate
 * like this a few DOF out: golden-section images chasing the lowest reading follow noise, and a
 * shift fit lands anywhere on the flat stretch, so the search stops (`searchImages`), the
 * refinement starts at the sharper image (`startEstimate`), and a run with no images left for a
 * refinement does not answer with that fit (`refine`). A sample far beyond the capture
 * range reads flat near the ceiling instead; there the golden-section search's growing steps
 * are the quicker way towards focus.
 */
export function readsFlat(run: DeepFocusRun): boolean {
  const lowest = lowestImage(run);
  return lowest !== null && lowest.score * IMPLAUSIBLE_GAIN < curveCeiling(run.curve) && sharperElsewhere(run, lowest.zUm) !== null;
}

/**
 * Focus from all images so far with a free gain per tile, or null when that match has a problem
 * too or is implausible: the image DeepFocus reads lowest reads below 1/IMPLAUSIBLE_GAIN of the
 * calibration curve at its distance from the estimate. (A sample whose curve saturates — reads
 * flat from a few DOF out — fits a far, flat stretch of the curve with a small gain, and a walk
 * from there leads away from focus.)
 */
function freeGainEstimate(run: DeepFocusRun): number | null {
  const m = matchTrace(run, run.trace, { freeGain: true });
  const lowest = lowestImage(run);
  if (m.problem !== null || m.shiftUm === null || lowest === null) return null;
  return lowest.score * IMPLAUSIBLE_GAIN >= curveAt(run.curve, lowest.zUm - m.shiftUm) ? m.shiftUm : null;
}

/** Samples read up to about 2× above or below the calibration sample (`pairShift`'s default gain limit). */
const IMPLAUSIBLE_GAIN = 2;
