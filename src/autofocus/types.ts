import type { FocusScorer, Roi } from "../focus/types.js";
import type { Camera, Frame } from "../hardware/camera/types.js";
import type { Clock } from "../hardware/clock.js";
import type { FocusStage } from "../hardware/stage/focus-stage.js";

/** What every autofocus strategy is given: injected devices, the scorer, and a cancel signal. */
export interface AutofocusContext {
  camera: Camera;
  stage: FocusStage;
  scorer: FocusScorer;
  roi: Roi;
  clock: Clock;
  signal?: AbortSignal;
  /** Called after every image with the newest trace point (progress events). */
  onImage?: (point: TracePoint) => void;
  /** Called with each trace point and the frame it was scored on, before `onImage`. */
  onFrame?: (point: TracePoint, frame: Frame) => void;
  /** A second (classical, higher-is-sharper) score taken of every image as `TracePoint.sharpness`. */
  sharpness?: FocusScorer;
}

/** One acquired image of an autofocus run. */
export interface TracePoint {
  zUm: number;
  score: number;
  tiles: number[];
  /** The context's `sharpness` score of the same image, when it has one. */
  sharpness?: number;
  /** Its per-tile scores (row-major over the ROI). */
  sharpnessTiles?: number[];
  /** Clock time since the start of the run when the image was requested. */
  timeMs: number;
}

export interface AutofocusResult {
  method: string;
  startUm: number;
  finalUm: number;
  /** Every image acquired, in order (its length is the image count). */
  trace: TracePoint[];
  images: number;
  /** Clock time of the whole run, moves included. */
  durationMs: number;
  /**
   * Set when the method itself refused (`reason`) and the classical `metric` brought the run to
   * focus from its images and the rest of the budget (DeepFocus: `sharpnessFallback`);
   * `confirmed` when the method then confirmed that focus itself, false when the metric's own
   * peak answered alone — or, unconfirmed, when the metric's valley between two planes the method
   * reads in focus set it (`reason` says so; DeepFocus: `valleyAnswer`, an unstained sample).
   */
  fallback?: { metric: string; reason: string; confirmed: boolean };
}
