import { classicalAutofocus } from "../autofocus/classical.js";
import type { AutofocusResult } from "../autofocus/types.js";
import type { Config } from "../config/schema.js";
import { BusyError, CanceledError } from "../errors.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import type { ClassicalMetricId } from "../focus/types.js";
import type { Frame } from "../hardware/camera/types.js";
import type { Clock } from "../hardware/clock.js";
import type { Devices } from "../hardware/index.js";
import { depthOfFieldUm } from "../optics/dof.js";
import { StationEventBus, type StationState } from "./events.js";

export interface AutofocusRequest {
  metric?: ClassicalMetricId;
  strategy?: "brent" | "sweep";
}

export interface StationStatus {
  state: StationState;
  operation: string | null;
  positionUm: number;
  lastError: string | null;
  lastResult: AutofocusResult | null;
  camera: Devices["camera"]["info"];
}

/** How long a preview frame is reused before a new one is grabbed. */
const PREVIEW_MAX_AGE_MS = 100;

/**
 * The appliance: owns the devices and runs one operation at a time (autofocus, move,
 * capture…), each cancellable. Button, web and timelapse all go through it.
 */
export class Station {
  readonly events = new StationEventBus();
  private operation: { name: string; controller: AbortController; done: Promise<unknown> } | null = null;
  private lastError: string | null = null;
  private lastResult: AutofocusResult | null = null;
  private preview: { frame: Frame; atMs: number } | null = null;

  constructor(readonly config: Config, readonly devices: Devices, readonly clock: Clock) {}

  async start(): Promise<void> {
    await this.devices.start();
  }

  /** Cancels what is running, waits for it to unwind, then stops the devices. */
  async stop(): Promise<void> {
    await this.cancel();
    await this.devices.stop();
  }

  status(): StationStatus {
    return {
      state: this.operation ? "busy" : this.lastError ? "error" : "idle",
      operation: this.operation?.name ?? null,
      positionUm: this.devices.stage.positionUm(),
      lastError: this.lastError,
      lastResult: this.lastResult,
      camera: this.devices.camera.info,
    };
  }

  autofocus(request: AutofocusRequest = {}): Promise<AutofocusResult> {
    const af = this.config.autofocus;
    return this.run("autofocus", async (signal) => {
      const result = await classicalAutofocus(
        {
          camera: this.devices.camera,
          stage: this.devices.stage,
          scorer: createClassicalScorer(request.metric ?? af.metric),
          roi: af.roi,
          clock: this.clock,
          signal,
          onImage: (point) => this.events.emit("image", { operation: "autofocus", point }),
        },
        {
          strategy: request.strategy ?? af.strategy,
          rangeUm: af.rangeUm,
          coarseStepUm: 1.5 * depthOfFieldUm(this.config.objective, this.pixelSizeUm()),
          toleranceUm: af.toleranceUm,
          maxImages: af.maxImages,
        },
      );
      this.lastResult = result;
      this.events.emit("result", { operation: "autofocus", result });
      return result;
    });
  }

  /** Moves the focus stage (absolute, or relative with `relative`). */
  move(zUm: number, relative = false): Promise<number> {
    return this.run("move", async (signal) => {
      await this.devices.stage.moveTo(relative ? this.devices.stage.positionUm() + zUm : zUm, signal);
      return this.devices.stage.positionUm();
    });
  }

  /** Cancels the running operation (if any) and waits until the station is idle again. */
  async cancel(): Promise<boolean> {
    const op = this.operation;
    if (!op) return false;
    op.controller.abort("cancelled by user");
    await op.done.catch(() => undefined);
    return true;
  }

  /** A recent frame for the live preview; never competes with a running operation's grabs. */
  async previewFrame(): Promise<Frame> {
    const now = this.clock.nowMs();
    if (this.preview && (this.operation || now - this.preview.atMs < PREVIEW_MAX_AGE_MS)) return this.preview.frame;
    const frame = await this.devices.camera.grab();
    this.preview = { frame, atMs: now };
    return frame;
  }

  private pixelSizeUm(): number {
    const cam = this.config.camera;
    return cam.kind === "simulated" ? cam.pixelSizeUm : (this.devices.camera.info.pixelSizeUm ?? 0) * this.config.objective.magnification;
  }

  private async run<T>(name: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.operation) throw new BusyError(this.operation.name);
    const op: { name: string; controller: AbortController; done: Promise<unknown> } = { name, controller: new AbortController(), done: Promise.resolve() };
    this.operation = op;
    const done = (async () => {
      this.events.emit("state", { state: "busy", operation: name });
      try {
        const value = await body(op.controller.signal);
        this.lastError = null;
        return value;
      } catch (err) {
        const error = err as Error;
        this.lastError = err instanceof CanceledError ? null : error.message;
        if (!(err instanceof CanceledError)) this.events.emit("failed", { operation: name, error: error.message, kind: error.name });
        throw err;
      } finally {
        this.operation = null;
        this.events.emit("state", { state: this.lastError ? "error" : "idle", operation: null });
      }
    })();
    op.done = done;
    return done;
  }
}
