import { join } from "node:path";
import type { AutofocusResult, TracePoint } from "../autofocus/types.js";
import type { Config } from "../config/schema.js";
import type { Roi } from "../focus/types.js";
import type { Camera } from "../hardware/camera/types.js";
import type { Clock } from "../hardware/clock.js";
import type { FocusStage } from "../hardware/stage/focus-stage.js";
import { calibrationSweep, sweepEnds } from "../autofocus/calibration.js";
import { recordStack } from "./record-stack.js";

/** What an operation body is given: the station's devices, config and the cancel signal. */
export interface OperationContext {
  camera: Camera;
  stage: FocusStage;
  clock: Clock;
  config: Config;
  /** Sample-plane-independent camera pixel pitch (sensor plane, µm), for depth-of-field estimates. */
  cameraPixelUm: number;
  signal: AbortSignal;
  /** Reports per-plane progress (SSE `progress`). */
  onProgress(done: number, total: number, zUm: number): void;
}

/** Extra context of an autofocus method: the ROI and a callback per scored image (SSE `image`). */
export interface AutofocusMethodContext extends OperationContext {
  roi: Roi;
  onImage(point: TracePoint): void;
}

/**
 * An autofocus method plugged into the station besides the classical ones (e.g. "deepfocus").
 * Its result may carry `tileFocusUm` (per-tile focus, row-major over the ROI) and
 * `calibrationCurve` (`{ zUm[], b[] }` in stage coordinates); the page plots both.
 */
export type AutofocusMethod = (ctx: AutofocusMethodContext, request: { profile?: string }) => Promise<AutofocusResult>;

export interface CalibrateRequest {
  /** Profile / stack name. */
  name?: string;
  /** Half range of the sweep around the current position (default 20 DOF). */
  halfRangeUm?: number;
  /** Plane spacing (default DOF / 4). */
  stepUm?: number;
}

/** What a calibration produced. */
export interface CalibrationOutcome {
  /** "profile": a DeepFocus profile was saved; "stack": a calibration z-stack was recorded to calibrate from later. */
  kind: "profile" | "stack";
  name: string;
  /** Where it went, relative to the state directory. */
  path: string;
  planes: number;
  fwhmUm?: number;
  /** The profile's binning and capture range (see CalibrationProfile), when a profile was made. */
  binning?: number;
  captureRangeUm?: number;
  /** The centred calibration curve, when a profile was made. */
  curve?: { zUm: number; b: number }[];
  /** Something the user should check, e.g. configured optics the sweep disagrees with (`blurGrowthWarning`). */
  warning?: string;
}

/** The calibration operation; the DeepFocus one is injected, the default records a stack. */
export type CalibrateRunner = (ctx: OperationContext, request: CalibrateRequest) => Promise<CalibrationOutcome>;

/** Sweep of a calibration: the request's half-range and step, else calibrationSweep's, around the current position and inside the stage's soft limits. */
export function calibrationSweepAround(ctx: OperationContext, request: CalibrateRequest): { fromUm: number; toUm: number; stepUm: number } {
  const sweep = calibrationSweep(ctx.config.objective, ctx.cameraPixelUm);
  const ends = sweepEnds(ctx.stage.positionUm(), request.halfRangeUm ?? sweep.halfRangeUm, ctx.stage.options);
  return { ...ends, stepUm: request.stepUm ?? sweep.stepUm };
}

/**
 * Default calibrate (until the DeepFocus calibration is plugged in): records a z-stack of the
 * (flat, textured, roughly focused) object around the current position into
 * `<stateDir>/stacks/<name>`, ready for `focusbox calibrate --stack`, and returns to the start.
 */
export const recordCalibrationStack: CalibrateRunner = async (ctx, request) => {
  const sweep = calibrationSweepAround(ctx, request);
  const name = request.name ?? `calibration-${compactTimestamp()}`;
  const { objective } = ctx.config;
  const planes = await recordStackOperation(ctx, { ...sweep, name, meta: { objective: { magnification: objective.magnification, na: objective.na } } });
  return { kind: "stack", name, path: join("stacks", name), planes };
};

export interface StackRequest {
  fromUm: number;
  toUm: number;
  stepUm: number;
  name: string;
  meta?: { objective?: { magnification: number; na: number }; focusUm?: number };
}

/** Records a stack into `<stateDir>/stacks/<name>` and moves back to where it started; returns the plane count. */
export async function recordStackOperation(ctx: OperationContext, r: StackRequest): Promise<number> {
  const startUm = ctx.stage.positionUm();
  let planes = 0;
  await recordStack(ctx.camera, ctx.stage, {
    fromUm: r.fromUm,
    toUm: r.toUm,
    stepUm: r.stepUm,
    outDir: join(ctx.config.stateDir, "stacks", r.name),
    meta: r.meta,
    signal: ctx.signal,
    onPlane: (zUm, i, count) => {
      planes = count;
      ctx.onProgress(i + 1, count, zUm);
    },
  });
  await ctx.stage.moveTo(startUm, ctx.signal);
  return planes;
}

/** `20250102T030405678Z`: sortable and safe as a file name. */
export function compactTimestamp(now = new Date()): string {
  return now.toISOString().replace(/[-:.]/g, "");
}
