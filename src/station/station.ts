import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { classicalAutofocus } from "../autofocus/classical.js";
import type { AutofocusResult } from "../autofocus/types.js";
import type { Config } from "../config/schema.js";
import { BusyError, CanceledError, ConfigError } from "../errors.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId } from "../focus/types.js";
import type { Camera, Frame } from "../hardware/camera/types.js";
import type { Clock } from "../hardware/clock.js";
import type { Devices } from "../hardware/index.js";
import { cameraPixelUm, depthOfFieldUm } from "../optics/dof.js";
import { CaptureStore, type CaptureInfo } from "./captures.js";
import { StationEventBus, type OperationRecord, type StationState } from "./events.js";
import {
  compactTimestamp,
  recordCalibrationStack,
  recordStackOperation,
  type AutofocusMethod,
  type CalibrateRequest,
  type CalibrateRunner,
  type CalibrationOutcome,
  type OperationContext,
} from "./operations.js";
import { attachPanel } from "./panel.js";

export interface AutofocusRequest {
  /** Classical metric (when no `method` is given). */
  metric?: ClassicalMetricId;
  strategy?: "brent" | "sweep";
  /** A plugged-in method (e.g. "deepfocus", see StationOptions.autofocusMethods), "classical", or a classical metric id (= classical with that metric); default: classical. */
  method?: string;
  /** Calibration profile name for methods that use one. */
  profile?: string;
}

export interface StackRecordRequest {
  fromUm: number;
  toUm: number;
  stepUm: number;
  /** `fromUm`/`toUm` are offsets from the current position. */
  relative?: boolean;
}

export interface StationOptions {
  /** What a long button press does (config `buttonLongPress`). Default "cancel". */
  longPressAction?: "cancel" | "calibrate";
  /** Autofocus methods besides the classical metrics, by name. */
  autofocusMethods?: Record<string, AutofocusMethod>;
  /** The calibration; default records a calibration stack (see recordCalibrationStack). */
  calibrate?: CalibrateRunner;
  /** Called after the devices have stopped (e.g. to release a loaded model). */
  onStopped?: () => Promise<void>;
  /** Entries kept in the recent-operations log. Default 50. */
  logSize?: number;
}

export interface StationStatus {
  state: StationState;
  operation: string | null;
  positionUm: number;
  lastError: string | null;
  lastResult: AutofocusResult | null;
  lastCalibration: CalibrationOutcome | null;
  camera: Devices["camera"]["info"];
}

/** Counters for /metrics. */
export interface StationCounters {
  /** Finished operations by name and outcome. */
  operations: Record<string, Record<OperationRecord["outcome"], number>>;
}

/** How long a preview frame is reused before a new one is grabbed. */
const PREVIEW_MAX_AGE_MS = 100;

type Running = { name: string; controller: AbortController; done: Promise<unknown>; t0: number };

/**
 * The appliance: owns the devices and runs one operation at a time (autofocus, calibrate,
 * capture, record stack, move, set zero), each cancellable; state idle / busy(op) / error.
 * Button, web and timelapse all go through it; the LED follows its state.
 */
export class Station {
  readonly events = new StationEventBus();
  readonly captures: CaptureStore;
  readonly counters: StationCounters = { operations: {} };
  private operation: Running | null = null;
  private stopping = false;
  private lastError: string | null = null;
  private lastResult: AutofocusResult | null = null;
  private lastCalibration: CalibrationOutcome | null = null;
  private readonly recent: OperationRecord[] = [];
  private seq = 0;
  private preview: { frame: Frame; atMs: number; seq: number } | null = null;
  private previewGrab: Promise<{ frame: Frame; seq: number }> | null = null;
  private detachPanel: (() => void) | null = null;
  /** The camera as operations see it: every frame they grab also feeds the live preview. */
  private readonly camera: Camera;

  constructor(
    readonly config: Config,
    readonly devices: Devices,
    readonly clock: Clock,
    readonly options: StationOptions = {},
  ) {
    this.captures = new CaptureStore(join(config.stateDir, "captures"));
    const cam = devices.camera;
    this.camera = {
      get info() {
        return cam.info;
      },
      start: () => cam.start(),
      stop: () => cam.stop(),
      grab: async (signal) => this.keepPreview(await cam.grab(signal)).frame,
    };
  }

  /** Opens the devices, then attaches button and LED. */
  async start(): Promise<void> {
    await this.devices.start();
    this.detachPanel = attachPanel(this, this.devices, this.options.longPressAction ?? "cancel");
  }

  /** Refuses new operations, cancels the running one, waits for it to unwind, then stops the devices. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.cancel();
    this.detachPanel?.();
    this.detachPanel = null;
    await this.devices.stop();
    await this.options.onStopped?.();
  }

  status(): StationStatus {
    return {
      state: this.state(),
      operation: this.operation?.name ?? null,
      positionUm: this.devices.stage.positionUm(),
      lastError: this.lastError,
      lastResult: this.lastResult,
      lastCalibration: this.lastCalibration,
      camera: this.devices.camera.info,
    };
  }

  state(): StationState {
    return this.operation ? "busy" : this.lastError ? "error" : "idle";
  }

  /** How long the running operation has been running (0 when none); the watchdog uses it. */
  runningForMs(): number {
    return this.operation ? performance.now() - this.operation.t0 : 0;
  }

  /** Finished operations, newest last. */
  log(): OperationRecord[] {
    return [...this.recent];
  }

  /** Autofocus methods: the classical metrics and the plugged-in ones. */
  methods(): string[] {
    return [...Object.keys(this.options.autofocusMethods ?? {}), ...CLASSICAL_METRIC_IDS];
  }

  /** Calibration profile names found in `<stateDir>/calibration`. */
  async profiles(): Promise<string[]> {
    const names = await readdir(join(this.config.stateDir, "calibration")).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)).sort();
  }

  async autofocus(request: AutofocusRequest = {}): Promise<AutofocusResult> {
    if (request.method !== undefined && (CLASSICAL_METRIC_IDS as readonly string[]).includes(request.method)) {
      // A metric listed by methods() names the classical search with that metric.
      if (request.metric !== undefined && request.metric !== request.method)
        throw new ConfigError(`method "${request.method}" and metric "${request.metric}" disagree; give one of them`, [{ path: "metric", message: "disagrees with method" }]);
      request = { ...request, method: "classical", metric: request.method as ClassicalMetricId };
    }
    const plugged = request.method === undefined || request.method === "classical" ? undefined : this.options.autofocusMethods?.[request.method];
    if (request.method !== undefined && request.method !== "classical" && !plugged)
      throw new ConfigError(`method: unknown autofocus method "${request.method}" (have: classical, ${Object.keys(this.options.autofocusMethods ?? {}).join(", ") || "no others"})`, [
        { path: "method", message: "unknown method" },
      ]);
    const af = this.config.autofocus;
    return this.run(
      "autofocus",
      async (ctx) => {
        const onImage = (point: AutofocusResult["trace"][number]) => this.events.emit("image", { operation: "autofocus", point });
        const result = plugged
          ? await plugged({ ...ctx, roi: af.roi, onImage }, { profile: request.profile })
          : await classicalAutofocus(
              { camera: ctx.camera, stage: ctx.stage, scorer: createClassicalScorer(request.metric ?? af.metric), roi: af.roi, clock: ctx.clock, signal: ctx.signal, onImage },
              {
                strategy: request.strategy ?? af.strategy,
                rangeUm: af.rangeUm,
                coarseStepUm: 1.5 * depthOfFieldUm(this.config.objective, ctx.cameraPixelUm),
                toleranceUm: af.toleranceUm,
                maxImages: af.maxImages,
              },
            );
        this.lastResult = result;
        this.events.emit("result", { operation: "autofocus", result });
        return result;
      },
      (r) => `${r.method}: ${r.startUm.toFixed(2)} → ${r.finalUm.toFixed(2)} µm, ${r.images} images, ${(r.durationMs / 1000).toFixed(2)} s`,
    );
  }

  /** Calibrates through the injected runner (default: records a calibration stack). */
  calibrate(request: CalibrateRequest = {}): Promise<CalibrationOutcome> {
    return this.run(
      "calibrate",
      async (ctx) => {
        const outcome = await (this.options.calibrate ?? recordCalibrationStack)(ctx, request);
        this.lastCalibration = outcome;
        this.events.emit("calibrated", { operation: "calibrate", calibration: outcome });
        return outcome;
      },
      (o) => `${o.kind} ${o.name}: ${o.planes} planes${o.fwhmUm ? `, FWHM ${o.fwhmUm.toFixed(2)} µm` : ""} → ${o.path}`,
    );
  }

  /** Saves a full frame (PNG + JSON sidecar) into `<stateDir>/captures`. */
  capture(request: { note?: string } = {}): Promise<CaptureInfo> {
    return this.run(
      "capture",
      async (ctx) => {
        const frame = await ctx.camera.grab(ctx.signal);
        const { magnification, na } = this.config.objective;
        const capture = await this.captures.save(frame, { zUm: ctx.stage.positionUm(), camera: ctx.camera.info.kind, objective: { magnification, na }, note: request.note });
        this.events.emit("captured", { operation: "capture", capture });
        return capture;
      },
      (c) => `${c.file} at ${c.zUm.toFixed(2)} µm (${c.width}×${c.height}, ${c.pngBits}-bit)`,
    );
  }

  /** Records a z-stack into `<stateDir>/stacks/stack-<time>`; returns its name and plane count. */
  recordStack(request: StackRecordRequest): Promise<{ name: string; path: string; planes: number }> {
    return this.run(
      "stack",
      async (ctx) => {
        const hereUm = request.relative ? ctx.stage.positionUm() : 0;
        const name = `stack-${compactTimestamp()}`;
        const planes = await recordStackOperation(ctx, { fromUm: hereUm + request.fromUm, toUm: hereUm + request.toUm, stepUm: request.stepUm, name });
        return { name, path: join("stacks", name), planes };
      },
      (s) => `${s.planes} planes → ${s.path}`,
    );
  }

  /** Moves the focus stage (absolute, or relative with `relative`). */
  move(zUm: number, relative = false): Promise<number> {
    return this.run(
      "move",
      async ({ stage, signal }) => {
        await stage.moveTo(relative ? stage.positionUm() + zUm : zUm, signal);
        return stage.positionUm();
      },
      (z) => `to ${z.toFixed(2)} µm`,
    );
  }

  /** Declares the current stage position to be z = 0. */
  setZero(): Promise<number> {
    return this.run(
      "zero",
      async ({ stage }) => {
        await stage.setPositionUm(0);
        return 0;
      },
      () => "position set to 0 µm",
    );
  }

  /**
   * Runs `body` as one operation named `name`, under the same lock, cancel signal, events and
   * log as the built-in operations (used by the timelapse scheduler for each point).
   * @throws BusyError while another operation runs (`running` = "shutdown" once stopping).
   */
  runOperation<T>(name: string, body: (ctx: OperationContext) => Promise<T>, summary: (value: T) => string): Promise<T> {
    return this.run(name, body, summary);
  }

  /**
   * Cancels the running operation (if any) and waits until it has unwound. When idle, it
   * acknowledges an error state instead. Returns whether an operation was cancelled.
   */
  async cancel(): Promise<boolean> {
    const op = this.operation;
    if (!op) {
      if (this.lastError !== null) {
        this.lastError = null;
        this.emitState();
      }
      return false;
    }
    op.controller.abort("cancelled by user");
    await op.done.catch(() => undefined);
    return true;
  }

  /** A recent frame for the live preview (`seq` changes with every new frame); never competes with a running operation's grabs. */
  async previewFrame(): Promise<{ frame: Frame; seq: number }> {
    const p = this.preview;
    if (p && (this.operation || this.clock.nowMs() - p.atMs < PREVIEW_MAX_AGE_MS)) return p;
    this.previewGrab ??= this.devices.camera
      .grab()
      .then((frame) => this.keepPreview(frame))
      .finally(() => (this.previewGrab = null));
    return this.previewGrab;
  }

  private keepPreview(frame: Frame): { frame: Frame; atMs: number; seq: number } {
    this.preview = { frame, atMs: this.clock.nowMs(), seq: (this.preview?.seq ?? 0) + 1 };
    return this.preview;
  }

  private cameraPixelUm(): number {
    return cameraPixelUm(this.config.camera, this.devices.camera.info.pixelSizeUm, this.config.objective);
  }

  private emitState(): void {
    this.events.emit("state", { state: this.state(), operation: this.operation?.name ?? null, positionUm: this.devices.stage.positionUm() });
  }

  private async run<T>(name: string, body: (ctx: OperationContext) => Promise<T>, summary: (value: T) => string): Promise<T> {
    if (this.stopping) throw new BusyError("shutdown");
    if (this.operation) throw new BusyError(this.operation.name);
    const controller = new AbortController();
    const t0 = performance.now();
    const op: Running = { name, controller, done: Promise.resolve(), t0 };
    this.operation = op;
    const ctx: OperationContext = {
      camera: this.camera,
      stage: this.devices.stage,
      clock: this.clock,
      config: this.config,
      cameraPixelUm: this.cameraPixelUm(),
      signal: controller.signal,
      onProgress: (done, total, zUm) => this.events.emit("progress", { operation: name, done, total, zUm }),
    };
    const startedAt = new Date();
    const done = (async () => {
      this.emitState();
      let outcome: OperationRecord["outcome"] = "done";
      let detail = "";
      try {
        await this.previewGrab?.catch(() => undefined);
        const value = await body(ctx);
        this.lastError = null;
        detail = summary(value);
        return value;
      } catch (err) {
        const error = err as Error;
        const cancelled = err instanceof CanceledError || controller.signal.aborted;
        outcome = cancelled ? "cancelled" : "failed";
        detail = error.message;
        this.lastError = cancelled ? null : error.message;
        if (!cancelled) this.events.emit("failed", { operation: name, error: error.message, kind: error.name });
        throw cancelled && !(err instanceof CanceledError) ? new CanceledError(`${name} cancelled`) : err;
      } finally {
        this.operation = null;
        this.record({ seq: ++this.seq, operation: name, startedAt: startedAt.toISOString(), durationMs: Math.round(performance.now() - t0), outcome, detail });
        this.emitState();
      }
    })();
    op.done = done;
    return done;
  }

  private record(entry: OperationRecord): void {
    this.recent.push(entry);
    if (this.recent.length > (this.options.logSize ?? 50)) this.recent.shift();
    const counts = (this.counters.operations[entry.operation] ??= { done: 0, cancelled: 0, failed: 0 });
    counts[entry.outcome]++;
    this.events.emit("operation", entry);
  }
}
