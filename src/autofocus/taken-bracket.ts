import type { FieldMatch } from "../focus/calibration-match.js";
import { refineHalfSpanUm } from "./bracket.js";
import { crossCheckSharpest, NEAR_FOCUS_LOG_RATIO, sharpnessLogRatio, sharpnessPedestal, sharpnessRated } from "./cross-check.js";
import { inFocusScore, type DeepFocusRun } from "./deepfocus.js";
import { bracketMatch, judgeTriple, lowestImage, neighbourTriple, pairMatch } from "./triple.js";
import type { TracePoint } from "./types.js";

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
export function takenBracket(run: DeepFocusRun, first: FieldMatch): FieldMatch | null {
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
  if (!(Math.max(lo.score, hi.score) <= inFocusScore(run))) return null;
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
