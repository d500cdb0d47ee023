import { FocusNotFoundError } from "../errors.js";
import { curveFloor } from "../focus/calibration-match.js";
import { NOT_SHARP_FLOOR_RATIO, type DeepFocusRun } from "./deepfocus.js";
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
 * 1 / 1.5 as sharp (VALLEY_LOG_RATIO) as an image on each side of it within FWHM / 4, both of which
 * DeepFocus reads as in focus (within NOT_SHARP_FLOOR_RATIO × the calibration curve's floor).
 * Defocus only takes detail away from an absorbing (intensity) sample, so near focus its gradient
 * metric has one peak. An unstained cell in bright field is a phase object: in focus it shows
 * almost no contrast (DeepFocus finds no valid tile there), and contrast grows with defocus on
 * either side, inverted from one side to the other; its gradient metric peaks about a DOF either
 * side of focus (simulated 10×/NA 0.3, condenser at 0.3–0.7 of the NA: ±5–6 µm) and DeepFocus
 * reads both peaks as in focus. A run then lands on a peak or between, 3–11 µm from focus
 * (docs/benchmarks.md, "Unstained cells in bright field"); two layers of sample a few µm apart
 * show the same valley.
 */
export function sharpnessValley(run: DeepFocusRun): SharpnessValley | null {
  const rated = run.trace.filter((p) => p.sharpness! > 0);
  const reachUm = run.profile.fwhmUm / 4;
  const inFocusB = NOT_SHARP_FLOOR_RATIO * curveFloor(run.curve);
  const sharpestBeside = (v: TracePoint, side: -1 | 1): TracePoint | null => {
    const beside = rated.filter((p) => side * (p.zUm - v.zUm) > 0 && side * (p.zUm - v.zUm) <= reachUm && p.score <= inFocusB);
    return beside.length ? beside.reduce((a, b) => (b.sharpness! > a.sharpness! ? b : a)) : null;
  };
  let found: SharpnessValley | null = null;
  for (const valley of rated) {
    const [lo, hi] = [sharpestBeside(valley, -1), sharpestBeside(valley, 1)];
    if (!lo || !hi) continue;
    const depth = Math.min(Math.log(lo.sharpness! / valley.sharpness!), Math.log(hi.sharpness! / valley.sharpness!));
    if (depth >= VALLEY_LOG_RATIO && (!found || valley.sharpness! < found.valley.sharpness!)) found = { valley, lo, hi };
  }
  return found;
}

/** The refusal of a run whose images show a sharpness valley near focus (`sharpnessValley`). */
export function valleyRefusal(run: DeepFocusRun, { valley, lo, hi }: SharpnessValley): FocusNotFoundError {
  const metric = run.ctx.sharpness?.id;
  const where = `${run.trace.length} images at ${run.trace.map((p) => p.zUm.toFixed(1)).join(", ")} µm`;
  return new FocusNotFoundError(
    `${metric} rates the images at z=${lo.zUm.toFixed(1)} and z=${hi.zUm.toFixed(1)} µm, which DeepFocus reads as in focus, ${(Math.min(lo.sharpness!, hi.sharpness!) / valley.sharpness!).toFixed(1)}× or more as sharp as the one between them at z=${valley.zUm.toFixed(1)} µm: the sample shows least detail between two sharp-looking planes — an unstained (phase) sample in bright field, whose contrast grows with defocus on either side of focus (focus then lies near z=${valley.zUm.toFixed(1)} µm), or two layers of sample a few µm apart. Neither DeepFocus nor a gradient metric finds such a focus: a stained sample, phase contrast or DIC shows detail in focus (${where})`,
    "out-of-range",
  );
}
