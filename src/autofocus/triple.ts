import { curveCeiling, curveFloor, matchPairField, type FieldMatch } from "../focus/calibration-match.js";
import { TRIPLE_IMAGES } from "./bracket.js";
import { DECISIVE_LOG_RATIO, deepfocusPoints, sharpnessLead, sharpnessPeakMatch, onSharpnessPeak, sharpnessPeakWidthUm, type SharpnessPedestal } from "./cross-check.js";
import { NOT_SHARP_FLOOR_RATIO, type DeepFocusRun } from "./deepfocus.js";
import type { TracePoint } from "./types.js";

// One refinement triple (images lo < mid < hi): how the refinement judges it and the focus a bracketing one gives (see refine.ts).

/** A triple whose half-span is at most this many widths σ of the cross-check's peak fits the peak: its vertex is pinned. */
export const PEAK_FIT_WIDTHS = 1.5;

/** `first` turned into a refusal for `problem` (no shift, no inlier tile). */
export function refused(first: FieldMatch, problem: FieldMatch["problem"]): FieldMatch {
  return { ...first, shiftUm: null, tileShiftsUm: first.tileShiftsUm.map(() => null), inlierTiles: 0, problem };
}

/**
 * What a refinement triple says: it brackets focus, the walk goes on to `to`, or it stops. A bracket
 * is `decisive` when the cross-check decided it. `onPeakTop`: the cross-check did not decide, but
 * rates the middle image sharpest, on its peak (`onSharpnessPeak`) or where DeepFocus reads the
 * triple flat at its floor (`deepfocusFlatAtFloor`). Such a triple straddles the
 * peak's top, where the vertex is pinned better than the DeepFocus pair. Near focus a sample whose
 * DeepFocus curve differs from the calibration sample's in shape, not only in gain, biases that
 * pair: 40×/NA 0.65 cells read twice the calibration's floor at focus and a flatter curve, and the
 * pair answered 0.45 µm (a third of a DOF) off (docs/benchmarks.md, "The cross-check's pedestal").
 */
type TripleVerdict = { kind: "bracket"; decisive: boolean; onPeakTop: boolean } | { kind: "recentre"; to: TracePoint } | { kind: "stop" };

/** DeepFocus readings within this log ratio of one another (2 %) do not tell which image is nearer focus. */
const DEEPFOCUS_FLAT_LOG_RATIO = Math.log(1.02);

/**
 * DeepFocus reads the triple flat at its floor: every image at most NOT_SHARP_FLOOR_RATIO × the
 * calibration curve's floor, all three within DEEPFOCUS_FLAT_LOG_RATIO of one another. Within a
 * DOF or so of focus a sample's blur reading can sit at its floor (a smooth-blurring optics, a
 * sample read at twice the calibration's floor), and a walk led by its noise wandered there until
 * the budget ran out (docs/benchmarks.md, "DeepFocus flat at its floor").
 */
function deepfocusFlatAtFloor(pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, floorB: number): boolean {
  const b = [pLo.score, pMid.score, pHi.score];
  if (!b.every((v) => Number.isFinite(v) && v > 0)) return false;
  return Math.max(...b) <= NOT_SHARP_FLOOR_RATIO * floorB && Math.log(Math.max(...b) / Math.min(...b)) < DEEPFOCUS_FLAT_LOG_RATIO;
}

/** A NaN score (no valid tile) counts as the blurriest. */
const worst = (score: number): number => (Number.isFinite(score) ? score : Infinity);

/** DeepFocus reads the middle image of the triple lowest. */
const deepfocusBrackets = (pLo: TracePoint, pMid: TracePoint, pHi: TracePoint): boolean => worst(pMid.score) < worst(pLo.score) && worst(pMid.score) < worst(pHi.score);

/** The refinement's judgement of a triple lo < mid < hi (see `refine`), with the run's cross-check `pedestal`. */
export function judgeTriple(run: DeepFocusRun, pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, pedestal: SharpnessPedestal): TripleVerdict {
  const lead = sharpnessLead(pLo, pMid, pHi, pedestal.roi);
  const floorB = curveFloor(run.curve);
  // Far out, where DeepFocus is steep and monotonic across the triple, it overrules a cross-check that disagrees.
  const dfPoint = deepfocusPoints(pLo, pMid, pHi, floorB);
  // Where DeepFocus reads the middle image blurrier than any calibration plane, focus is far: the cross-check's peak there is a false one.
  // (A NaN middle score — no valid tile — leaves the cross-check in charge.)
  const beyondCalibration = pMid.score > curveCeiling(run.curve);
  const decisive = lead !== null && Math.abs(lead) >= DECISIVE_LOG_RATIO && !beyondCalibration && (dfPoint === null || (lead < 0 && sharperOuter(pLo, pMid, pHi) === dfPoint));
  const dfBrackets = deepfocusBrackets(pLo, pMid, pHi);
  if (!decisive && !dfBrackets && !Number.isFinite(pLo.score) && !Number.isFinite(pHi.score)) return { kind: "stop" };
  // Where DeepFocus reads the three alike at its floor, which of them it reads lowest is noise: the cross-check decides by any lead.
  const flat = !decisive && lead !== null && !beyondCalibration && deepfocusFlatAtFloor(pLo, pMid, pHi, floorB);
  // A deciding cross-check brackets or points to its sharper outer image; else DeepFocus decides, the cross-check may veto.
  const to = decisive || flat ? (lead! > 0 ? null : sharperOuter(pLo, pMid, pHi)) : dfBrackets ? sharperOuter(pLo, pMid, pHi) : worst(pLo.score) < worst(pHi.score) ? pLo : pHi;
  if (to !== null) return { kind: "recentre", to };
  return { kind: "bracket", decisive, onPeakTop: flat || (!decisive && lead !== null && lead >= 0 && onSharpnessPeak(pLo, pMid, pHi, pedestal.roi)) };
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
export function bracketMatch(run: DeepFocusRun, pLo: TracePoint, pMid: TracePoint, pHi: TracePoint, verdict: { decisive: boolean; onPeakTop: boolean }, left: number, pedestal: SharpnessPedestal): { match: FieldMatch; byPeak: boolean; widthUm: number | null } | null {
  const pair = deepfocusBrackets(pLo, pMid, pHi) ? pairField(run, pLo, pHi) : null;
  const widthUm = sharpnessPeakWidthUm(pLo, pMid, pHi, pedestal);
  const fitsPeak = widthUm !== null && (pHi.zUm - pLo.zUm) / 2 <= PEAK_FIT_WIDTHS * widthUm;
  const vertexConverges = left > TRIPLE_IMAGES || (left === TRIPLE_IMAGES && fitsPeak);
  const byPeak = verdict.decisive ? vertexConverges || pair?.problem !== null : verdict.onPeakTop;
  const match = byPeak ? sharpnessPeakMatch(pLo, pMid, pHi, pedestal) : pair;
  return match === null || match.problem !== null || match.shiftUm === null ? null : { match, byPeak, widthUm };
}

/** `mid` and its neighbours in `byZ` when it has one on each side within `spanUm` (rounding allowed for), else null. */
export function neighbourTriple(byZ: readonly TracePoint[], mid: TracePoint | null, spanUm: number): [TracePoint, TracePoint, TracePoint] | null {
  const i = mid === null ? -1 : byZ.indexOf(mid);
  if (i < 1 || i > byZ.length - 2) return null;
  const [lo, hi] = [byZ[i - 1], byZ[i + 1]];
  const reachUm = spanUm * (1 + 1e-9);
  return mid!.zUm - lo.zUm <= reachUm && hi.zUm - mid!.zUm <= reachUm ? [lo, mid!, hi] : null;
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
export function imageAt(run: DeepFocusRun, zUm: number): TracePoint | undefined {
  return run.trace.find((p) => Math.abs(p.zUm - zUm) < SAME_POSITION_UM);
}

/** The outer image the cross-check metric calls sharper than the middle one, or null (it agrees, or there is none). */
export function sharperOuter(lo: TracePoint, mid: TracePoint, hi: TracePoint): TracePoint | null {
  const [l, m, h] = [lo.sharpness, mid.sharpness, hi.sharpness];
  if (l === undefined || m === undefined || h === undefined || !(Math.max(l, h) > m)) return null;
  return l > h ? lo : hi;
}

/** The image with the lowest DeepFocus score so far, or null when none has one. */
export function lowestImage(run: DeepFocusRun): TracePoint | null {
  const finite = run.trace.filter((p) => Number.isFinite(p.score));
  return finite.length ? finite.reduce((a, b) => (b.score < a.score ? b : a)) : null;
}
