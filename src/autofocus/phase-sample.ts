import { FocusNotFoundError } from "../errors.js";
import { crossCheckSharpest } from "./cross-check.js";
import { imagesWhere, inFocusScore, settleUnconfirmed, type DeepFocusResult, type DeepFocusRun } from "./deepfocus.js";
import type { TracePoint } from "./types.js";

/** Images about a valley of the cross-check metric near focus (`sharpnessValley`). */
export interface SharpnessValley {
  valley: TracePoint;
  lo: TracePoint;
  hi: TracePoint;
}

/**
 * The depth of a sharpness valley (log ratio: 1.5×). On the simulated unstained cells it finds 10
 * of 84 runs' valleys (2×: 3); the selection, report and user-like stacks of intensity samples
 * have none down to 1.3×, the second held-out set two at 1.2× (docs/benchmarks.md, "Unstained
 * cells in bright field").
 */
const VALLEY_LOG_RATIO = Math.log(1.5);

/**
 * A valley of the cross-check metric near focus, or null: an image the metric rates at most
 * 1 / 1.5 as sharp (VALLEY_LOG_RATIO) as an image on each side of it within FWHM / 4, all three
 * of which DeepFocus reads as in focus (within NOT_SHARP_FLOOR_RATIO × the calibration curve's
 * floor; the valley image may instead have no valid tile).
 * Defocus only takes detail away from an absorbing (intensity) sample, so near focus its gradient
 * metric has one peak. An unstained cell in bright field is a phase object: in focus it shows
 * almost no contrast (DeepFocus finds no valid tile there), and contrast grows with defocus on
 * either side, inverted from one side to the other; its gradient metric peaks about a DOF either
 * side of focus (simulated 10×/NA 0.3, condenser at 0.3–0.7 of the NA: ±5–6 µm) and DeepFocus
 * reads both peaks as in focus. A run then lands on a peak or between, 3–11 µm from focus
 * (docs/benchmarks.md, "Unstained cells in bright field"). Two layers of sample a few DOF apart
 * show a valley too, but DeepFocus reads the image between them as blurred (2.4× its floor, 20 µm
 * apart at 10×/NA 0.3).
 */
export function sharpnessValley(run: DeepFocusRun): SharpnessValley | null {
  const rated = run.trace.filter((p) => p.sharpness! > 0);
  const reachUm = run.profile.fwhmUm / 4;
  const inFocusB = inFocusScore(run);
  const sharpestBeside = (v: TracePoint, side: -1 | 1): TracePoint | null =>
    crossCheckSharpest(rated.filter((p) => side * (p.zUm - v.zUm) > 0 && side * (p.zUm - v.zUm) <= reachUm && p.score <= inFocusB));
  let found: SharpnessValley | null = null;
  // Between two layers of sample the valley image is a blur of both; at a phase object's focus it is sharp, or featureless.
  for (const valley of rated.filter((p) => !(p.score > inFocusB))) {
    const [lo, hi] = [sharpestBeside(valley, -1), sharpestBeside(valley, 1)];
    if (!lo || !hi) continue;
    const depth = Math.min(Math.log(lo.sharpness! / valley.sharpness!), Math.log(hi.sharpness! / valley.sharpness!));
    if (depth >= VALLEY_LOG_RATIO && (!found || valley.sharpness! < found.valley.sharpness!)) found = { valley, lo, hi };
  }
  return found;
}

/**
 * Focus at a sharpness valley: the vertex of the parabola through the valley image and the
 * nearest images the cross-check rated on each side of it, when both lie within FWHM / 8 of it
 * and the vertex between them, with half the wider gap beside the valley image as its
 * uncertainty; null otherwise. Near focus a weak phase object's contrast grows in proportion to
 * defocus, so its gradient energy grows as the square: on the simulated unstained cells a
 * parabola through the planes within ±2 µm of focus has its vertex 0.03–0.13 µm from it, and the
 * vertex of a run's three images 0.1–0.8 µm where both neighbours lay within FWHM / 8 (1.6–3.9 µm
 * where one lay farther; docs/benchmarks.md, "Unstained cells in bright field").
 */
export function valleyVertex(run: DeepFocusRun, { valley }: SharpnessValley): { zUm: number; uncertaintyUm: number } | null {
  const rated = run.trace.filter((p) => p.sharpness! > 0);
  const nearest = (side: -1 | 1): TracePoint | undefined => rated.filter((p) => side * (p.zUm - valley.zUm) > 0).sort((a, b) => side * (a.zUm - b.zUm))[0];
  const [lo, hi] = [nearest(-1), nearest(1)];
  const reachUm = run.profile.fwhmUm / 8;
  if (!lo || !hi || valley.zUm - lo.zUm > reachUm || hi.zUm - valley.zUm > reachUm) return null;
  // Divided differences of the three points: the parabola's curvature and its vertex.
  const [x0, x1, x2, y0, y1, y2] = [lo.zUm, valley.zUm, hi.zUm, lo.sharpness!, valley.sharpness!, hi.sharpness!];
  const d01 = (y1 - y0) / (x1 - x0);
  const d12 = (y2 - y1) / (x2 - x1);
  const curvature = (d12 - d01) / (x2 - x0);
  if (!(curvature > 0)) return null;
  const zUm = (x0 + x1) / 2 - d01 / (2 * curvature);
  return zUm > x0 && zUm < x2 ? { zUm, uncertaintyUm: Math.max(x1 - x0, x2 - x1) / 2 } : null;
}

/**
 * The answer of a run whose images show a sharpness valley near focus: the stage moves to the
 * valley's vertex (`valleyVertex`), and the result says so (`fallback`: the cross-check metric,
 * unconfirmed by DeepFocus).
 * @throws FocusNotFoundError (`valleyRefusal`) when the images do not pin the vertex.
 */
export async function valleyAnswer(run: DeepFocusRun, found: SharpnessValley): Promise<DeepFocusResult> {
  const vertex = valleyVertex(run, found);
  if (vertex === null) throw valleyRefusal(run, found);
  const reason = `DeepFocus reads planes either side of z=${found.valley.zUm.toFixed(1)} µm in focus, where the sample shows least detail: an unstained (phase) sample in bright field, focused at the vertex of ${run.ctx.sharpness!.id}'s valley there`;
  return settleUnconfirmed(run, vertex, "deepfocus", { metric: run.ctx.sharpness!.id, reason });
}

/** The refusal of a run whose images show a sharpness valley near focus (`sharpnessValley`) and do not pin its vertex. */
export function valleyRefusal(run: DeepFocusRun, { valley, lo, hi }: SharpnessValley): FocusNotFoundError {
  const metric = run.ctx.sharpness?.id;
  return new FocusNotFoundError(
    `${metric} rates the images at z=${lo.zUm.toFixed(1)} and z=${hi.zUm.toFixed(1)} µm, which DeepFocus reads as in focus, ${(Math.min(lo.sharpness!, hi.sharpness!) / valley.sharpness!).toFixed(1)}× or more as sharp as the one between them at z=${valley.zUm.toFixed(1)} µm: the sample shows least detail between two sharp-looking planes — an unstained (phase) sample in bright field, whose contrast grows with defocus on either side of focus (focus then lies near z=${valley.zUm.toFixed(1)} µm). The images do not pin the valley's bottom (an image within FWHM/8 on each side of it); a stained sample, phase contrast or DIC shows detail in focus (${imagesWhere(run.trace)})`,
    "out-of-range",
  );
}
