import { curveAt, curveCeiling, curveFloor, matchPairField, type FieldMatch } from "../focus/calibration-match.js";
import { imageBudget, initialPoints, initialSpacingUm, oneRefinementTriple, refineHalfSpanUm, TRIPLE_IMAGES } from "./bracket.js";
import { crossCheckSharpest, DECISIVE_LOG_RATIO, deepfocusPoints, NEAR_FOCUS_LOG_RATIO, sharpestLead, sharpnessLead, sharpnessLogRatio, sharpnessPeakMatch, onSharpnessPeak, sharpnessPeakWidthUm, sharpnessPedestal, sharpnessRated, type SharpnessPedestal } from "./cross-check.js";
import { BLUR_MATCH_IMAGES, matchTrace, NOT_SHARP_FLOOR_RATIO, sharperElsewhere, type DeepFocusRun } from "./deepfocus.js";
import { blurDisputes, blurMatchStart } from "./blur-guided.js";
import { probeAll } from "./probe.js";
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
 * ones. Where the refinement starts: see `startEstimate`. Any answer stands only if a triple
 * bracketed it; when the walk ends without one, a triple or pair among all the images taken may
 * (`takenBracket`: also where the walk's last step crossed focus). When the budget stops the
 * refinement after a bracket, before it converged (the next triple needs more images than are
 * left), one image left mirrors the bracket's outer image nearer its answer about that answer and
 * the pair's focus is the answer (`evenPair`): on the held-out and pictures selection sets this
 * halved the mean error of 7–8-image runs (docs/benchmarks.md, "One refinement triple"; two images
 * at e ± h read worse). When the walk's next step would take the budget's last image, that image
 * is placed from the DeepFocus readings so that its triple brackets focus (`lastWalkTriple`).
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

/** A triple whose half-span is at most this many widths σ of the cross-check's peak fits the peak: its vertex is pinned. */
const PEAK_FIT_WIDTHS = 1.5;

/** A reading this many times the calibration curve's floor lies on the curve's slope (see `lastWalkTriple`). */
const WALK_FIT_FLOOR_RATIO = 1.25;
/** The last image lies this many walk steps past the mirror image (see `lastWalkTriple`). */
const WALK_FIT_MARGIN = 0.5;

/** `first` turned into a refusal for `problem` (no shift, no inlier tile). */
export function refused(first: FieldMatch, problem: FieldMatch["problem"]): FieldMatch {
  return { ...first, shiftUm: null, tileShiftsUm: first.tileShiftsUm.map(() => null), inlierTiles: 0, problem };
}

/**
 * What a refinement triple says: it brackets focus, the walk goes on to `to`, or it stops. A bracket
 * is `decisive` when the cross-check decided it. `onPeakTop`: the cross-check did not decide, but
 * rates the middle image sharpest, on its peak (`onSharpnessPeak`). Such a triple straddles the
 * peak's top, where the vertex is pinned better than the DeepFocus pair. Near focus a sample whose
 * DeepFocus curve differs from the calibration sample's in shape, not only in gain, biases that
 * pair: 40×/NA 0.65 cells read twice the calibration's floor at focus and a flatter curve, and the
 * pair answered 0.45 µm (a third of a DOF) off (docs/benchmarks.md, "The cross-check's pedestal").
 */
type TripleVerdict = { kind: "bracket"; decisive: boolean; onPeakTop: boolean } | { kind: "recentre"; to: TracePoint } | { kind: "stop" };

/** A NaN score (no valid tile) counts as the blurriest. */
const worst = (score: number): number => (Number.isFinite(score) ? score : Infinity);

/** DeepFocus reads the middle image of the triple lowest. */
const deepfocusBrackets = (pLo: TracePoint, pMid: TracePoint, pHi: TracePoint): boolean => worst(pMid.score) < worst(pLo.score) && worst(pMid.score) < worst(pHi.score);

/** The refinement's judgement of a triple lo < mid < hi (see `refine`), with the run's cross-check `pedestal`. */
function judgeTriple(run: DeepFocusRun, pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, pedestal: SharpnessPedestal): TripleVerdict {
  const lead = sharpnessLead(pLo, pMid, pHi, pedestal.roi);
  // Far out, where DeepFocus is steep and monotonic across the triple, it overrules a cross-check that disagrees.
  const dfPoint = deepfocusPoints(pLo, pMid, pHi, curveFloor(run.curve));
  // Where DeepFocus reads the middle image blurrier than any calibration plane, focus is far: the cross-check's peak there is a false one.
  // (A NaN middle score — no valid tile — leaves the cross-check in charge.)
  const beyondCalibration = pMid.score > curveCeiling(run.curve);
  const decisive = lead !== null && Math.abs(lead) >= DECISIVE_LOG_RATIO && !beyondCalibration && (dfPoint === null || (lead < 0 && sharperOuter(pLo, pMid, pHi) === dfPoint));
  const dfBrackets = deepfocusBrackets(pLo, pMid, pHi);
  if (!decisive && !dfBrackets && !Number.isFinite(pLo.score) && !Number.isFinite(pHi.score)) return { kind: "stop" };
  // A decisive cross-check brackets or points to its sharper outer image; else DeepFocus decides, the cross-check may veto.
  const to = decisive ? (lead > 0 ? null : sharperOuter(pLo, pMid, pHi)) : dfBrackets ? sharperOuter(pLo, pMid, pHi) : worst(pLo.score) < worst(pHi.score) ? pLo : pHi;
  if (to !== null) return { kind: "recentre", to };
  return { kind: "bracket", decisive, onPeakTop: !decisive && lead !== null && lead >= 0 && onSharpnessPeak(pLo, pMid, pHi, pedestal.roi) };
}

/**
 * Focus from a bracketing triple, or null when its match does not hold: the cross-check peak's
 * vertex (`byPeak`) when the cross-check decided and the DeepFocus pair does not hold, or the
 * `left` images hold a follow-up triple and one image more, or they hold exactly a follow-up
 * triple and this triple already fits the peak (half-span ≤ PEAK_FIT_WIDTHS × its width σ);
 * else the DeepFocus outer pair. The vertex of a triple much wider than the peak leans towards
 * the middle image, and only the triples after it remove that: when the follow-up triple is the
 * budget's last, it is centred on the DeepFocus pair's focus instead, still ±σ of the peak wide
 * (docs/benchmarks.md, "The budget's last triple": 9 images 0.160 → 0.121 µm on the held-out
 * selection set, 0.106 → 0.087 on the pictures selection set). A triple the cross-check does not
 * decide is answered by its vertex too when it straddles the peak's top (`verdict.onPeakTop`).
 * `widthUm` is the peak's σ above `pedestal` (null when the cross-check scores make no peak),
 * which sizes the next triple.
 */
function bracketMatch(run: DeepFocusRun, pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, verdict: { decisive: boolean; onPeakTop: boolean }, left: number, pedestal: SharpnessPedestal): { match: FieldMatch; byPeak: boolean; widthUm: number | null } | null {
  const pair = deepfocusBrackets(pLo, pMid, pHi) ? pairField(run, pLo, pHi) : null;
  const widthUm = sharpnessPeakWidthUm(pLo, pMid, pHi, pedestal);
  const fitsPeak = widthUm !== null && (pHi.zUm - pLo.zUm) / 2 <= PEAK_FIT_WIDTHS * widthUm;
  const vertexConverges = left > TRIPLE_IMAGES || (left === TRIPLE_IMAGES && fitsPeak);
  const byPeak = verdict.decisive ? vertexConverges || pair?.problem !== null : verdict.onPeakTop;
  const match = byPeak ? sharpnessPeakMatch(pLo, pMid, pHi, pedestal) : pair;
  return match === null || match.problem !== null || match.shiftUm === null ? null : { match, byPeak, widthUm };
}

/**
 * When the refinement's walk ends without a bracket: focus from all the images taken, sorted by
 * z, or null when none of these holds (a bracket by DeepFocus alone never counts: such narrow,
 * uneven triples also bracket a periodic sample's false floor):
 * 1. `crossCheckedTriple`: a triple the refinement's own judgement calls a bracket decided by the
 *    cross-check (the search's golden-section images can land between the walk's images: a walk
 *    centred 3 µm from focus takes its triple around a search image that already lies between them);
 * 2. `agreedTriple`: a triple around an image both metrics call best;
 * 3. `sharpestPair`: a pair the cross-check's peak lies between.
 * 2 and 3 answer where the walk's last step crossed focus and landed about as near it on the
 * other side, so that its last triple did not bracket (docs/benchmarks.md, "A walk that ends
 * beside focus").
 */
function takenBracket(run: DeepFocusRun, first: FieldMatch): FieldMatch | null {
  const byZ = [...new Map(run.trace.map((p) => [p.zUm, p])).values()].sort((a, b) => a.zUm - b.zUm);
  return crossCheckedTriple(run, byZ, first) ?? agreedTriple(run, byZ, first) ?? sharpestPair(run, byZ, first);
}

/**
 * A triple of neighbouring images (`byZ`) around the image DeepFocus reads lowest or the one the
 * cross-check rates sharpest, with neighbours no farther than the first half-span, that the
 * refinement's own judgement (`judgeTriple`) calls a bracket decided by the cross-check: its
 * answer (`bracketMatch`). Null when none does.
 */
function crossCheckedTriple(run: DeepFocusRun, byZ: readonly TracePoint[], first: FieldMatch): FieldMatch | null {
  const pedestal = sharpnessPedestal(run.trace);
  for (const mid of new Set([lowestImage(run), crossCheckSharpest(byZ)])) {
    const triple = neighbourTriple(byZ, mid, refineHalfSpanUm(run));
    if (triple === null) continue;
    const verdict = judgeTriple(run, ...triple, pedestal);
    const bracket = verdict.kind === "bracket" && verdict.decisive ? bracketMatch(run, ...triple, verdict, 0, pedestal) : null;
    if (bracket !== null) return { ...bracket.match, rmsResidual: first.rmsResidual };
  }
  return null;
}

/**
 * The image DeepFocus reads lowest is the one the cross-check rates sharpest (by any margin), and
 * its neighbours (`byZ`) lie within twice the first half-span: the focus of that outer pair
 * (`pairMatch`) — the two metrics agree where focus is, though the triple is uneven (a search
 * image 1–2 µm beside one of the walk's) or the cross-check's lead is within its noise. Null
 * otherwise, and without a cross-check.
 */
function agreedTriple(run: DeepFocusRun, byZ: readonly TracePoint[], first: FieldMatch): FieldMatch | null {
  const lowest = lowestImage(run);
  if (lowest === null || lowest !== crossCheckSharpest(byZ)) return null;
  const triple = neighbourTriple(byZ, lowest, 2 * refineHalfSpanUm(run));
  return triple === null ? null : pairMatch(run, triple[0], triple[2], first);
}

/**
 * The two images the cross-check rates sharpest are neighbours (`byZ`), both over twice as sharp
 * as every other image (NEAR_FOCUS_LOG_RATIO), and DeepFocus reads both near its floor
 * (≤ NOT_SHARP_FLOOR_RATIO × the curve's): the cross-check's peak lies between them, and so does
 * focus — that pair's focus (`pairMatch`, which a periodic sample's flat DeepFocus floor puts
 * midway) — when the two are within 2× of each other, or within 4× (STEEPER_PAIR_LOG_RATIO) and
 * the falloff outward from the weaker image puts the peak between them (`steeperBeyond`). Null
 * otherwise, and without a cross-check (docs/benchmarks.md, "A walk that ends beside focus",
 * "The sharpest pair's falloff").
 */
function sharpestPair(run: DeepFocusRun, byZ: readonly TracePoint[], first: FieldMatch): FieldMatch | null {
  const ranked = byZ.filter(sharpnessRated).sort((p, q) => q.sharpness! - p.sharpness!);
  if (ranked.length < 2) return null;
  const [best, second] = ranked;
  if (ranked.slice(2).some((p) => sharpnessLogRatio(second, p) < NEAR_FOCUS_LOG_RATIO)) return null;
  const [lo, hi] = [best, second].sort((p, q) => p.zUm - q.zUm);
  if (byZ.indexOf(hi) - byZ.indexOf(lo) !== 1) return null;
  if (!(Math.max(lo.score, hi.score) <= NOT_SHARP_FLOOR_RATIO * curveFloor(run.curve))) return null;
  const pairLead = sharpnessLogRatio(best, second);
  if (pairLead >= STEEPER_PAIR_LOG_RATIO || (pairLead >= NEAR_FOCUS_LOG_RATIO && !steeperBeyond(byZ, best, second))) return null;
  return pairMatch(run, lo, hi, first);
}

/** A pair of images within this log ratio of each other (4×) can hold the cross-check's peak between them (`sharpestPair`). */
const STEEPER_PAIR_LOG_RATIO = Math.log(4);

/**
 * The cross-check's peak lies between `sharper` and `weaker` (neighbours in `byZ`) by the shape of
 * its falloff outward from `weaker` (log ratio per µm between neighbouring images): steeper from
 * `weaker` to the next image than between the pair, and, where there is an image after that one,
 * flatter again from there to it. Were focus at or beyond `sharper`, the step nearest the peak
 * would be the steepest on a heavy-tailed peak, as a broadband sample's is a DOF or more from
 * focus (docs/benchmarks.md, "The sharpest pair's falloff"); a Gaussian-shaped peak (a periodic
 * sample's) steepens all the way out, and an image after the next one that shows this rules the
 * pair out.
 */
function steeperBeyond(byZ: readonly TracePoint[], sharper: TracePoint, weaker: TracePoint): boolean {
  const outward = Math.sign(weaker.zUm - sharper.zUm);
  const [outer, farther] = [1, 2].map((k) => byZ[byZ.indexOf(weaker) + k * outward]);
  if (!sharpnessRated(outer)) return false;
  const falloff = (p: TracePoint, q: TracePoint): number => sharpnessLogRatio(p, q) / Math.abs(p.zUm - q.zUm);
  const next = falloff(weaker, outer);
  return next > falloff(sharper, weaker) && !(sharpnessRated(farther) && falloff(outer, farther) >= next);
}

/** `mid` and its neighbours in `byZ` when it has one on each side within `spanUm` (rounding allowed for), else null. */
function neighbourTriple(byZ: readonly TracePoint[], mid: TracePoint | null, spanUm: number): [TracePoint, TracePoint, TracePoint] | null {
  const i = mid === null ? -1 : byZ.indexOf(mid);
  if (i < 1 || i > byZ.length - 2) return null;
  const [lo, hi] = [byZ[i - 1], byZ[i + 1]];
  const reachUm = spanUm * (1 + 1e-9);
  return mid!.zUm - lo.zUm <= reachUm && hi.zUm - mid!.zUm <= reachUm ? [lo, mid!, hi] : null;
}

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
interface PairAnswer {
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
async function evenPair(run: DeepFocusRun, bracket: PairAnswer, left: number): Promise<FieldMatch> {
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

/** Per-tile focus from a pair that brackets it (`matchPairField` with the run's match options). */
function pairField(run: DeepFocusRun, lo: TracePoint, hi: TracePoint): FieldMatch {
  const { match } = run.options;
  return matchPairField(run.curve, lo.zUm, hi.zUm, lo.tiles, hi.tiles, { maxUncertaintyUm: match?.maxUncertaintyUm, outlierFloorUm: match?.outlierFloorUm });
}

/** `pairField` when it holds (rmsResidual: `first`'s), else null. */
export function pairMatch(run: DeepFocusRun, lo: TracePoint, hi: TracePoint, first: FieldMatch): FieldMatch | null {
  const pair = pairField(run, lo, hi);
  return pair.problem === null && pair.shiftUm !== null ? { ...pair, rmsResidual: first.rmsResidual } : null;
}

/** Positions closer than this (µm) are the same: an image there is reused, not taken again. */
const SAME_POSITION_UM = 1e-6;

/** The image already taken at `zUm` (the stage approaches every position from the same side, so it is the same image). */
function imageAt(run: DeepFocusRun, zUm: number): TracePoint | undefined {
  return run.trace.find((p) => Math.abs(p.zUm - zUm) < SAME_POSITION_UM);
}

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

/** The outer image the cross-check metric calls sharper than the middle one, or null (it agrees, or there is none). */
function sharperOuter(lo: TracePoint, mid: TracePoint, hi: TracePoint): TracePoint | null {
  const [l, m, h] = [lo.sharpness, mid.sharpness, hi.sharpness];
  if (l === undefined || m === undefined || h === undefined || !(Math.max(l, h) > m)) return null;
  return l > h ? lo : hi;
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
 * `sharperElsewhere` holds for it (DeepFocus reads it ≥ NOT_SHARP_FLOOR_RATIO × its floor, the
 * cross-check rates another image decisively sharper). Real dense or sparse fields saturate
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

/** The image with the lowest DeepFocus score so far, or null when none has one. */
function lowestImage(run: DeepFocusRun): TracePoint | null {
  const finite = run.trace.filter((p) => Number.isFinite(p.score));
  return finite.length ? finite.reduce((a, b) => (b.score < a.score ? b : a)) : null;
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
