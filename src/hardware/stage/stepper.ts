import { CanceledError, ConfigError, DeviceError, throwIfAborted } from "../../errors.js";
import { RealClock, type Clock } from "../clock.js";
import { PositionStore } from "./position-store.js";
import { microstepsPerUm, planMove, rampLimits, StepCursor, type RampLimits, type StepperMotionOptions } from "./step-plan.js";
import type { MoveOptions, StageBackend, StageInfo } from "./types.js";

/** What a step-driven backend needs besides its options. */
export interface StepperDeps {
  /** Where the position file lives (`config.stateDir`). */
  stateDir: string;
  /** Time source for software timing, polling and settling; default the wall clock. */
  clock?: Clock;
}

/**
 * The part every step-driven stage shares: exact step bookkeeping (the position is an integer
 * step count from the last "set zero"), ramped plans, cancellation by deceleration, settling,
 * and the persisted position. A backend only opens its hardware and emits the steps a
 * `StepCursor` hands out, reporting them as they are emitted.
 */
export abstract class StepperStage implements StageBackend {
  readonly info: StageInfo;
  protected readonly clock: Clock;
  protected readonly limits: RampLimits;
  /** Coil phase of unipolar drivers, persisted with the position; undefined for step/dir. */
  protected coilPhase?: number;
  private readonly store: PositionStore;
  private readonly perUm: number;
  private originUm = 0;
  private steps = 0;
  private cursor?: StepCursor;
  private moving?: Promise<void>;
  private started = false;

  constructor(kind: string, protected readonly motion: StepperMotionOptions, deps: StepperDeps) {
    const { stepsPerUm, microsteps, maxSpeedUmPerS, accelUmPerS2, settleMs } = motion;
    const bad = [
      !(stepsPerUm > 0) && "stepsPerUm must be > 0",
      !(Number.isInteger(microsteps) && microsteps >= 1) && "microsteps must be an integer ≥ 1",
      !(maxSpeedUmPerS > 0) && "maxSpeedUmPerS must be > 0",
      !(accelUmPerS2 > 0) && "accelUmPerS2 must be > 0",
      !(settleMs >= 0) && "settleMs must be ≥ 0",
    ].filter((m): m is string => typeof m === "string");
    if (bad.length) throw new ConfigError(`stage.backend (${kind}): ${bad.join("; ")}`, bad.map((message) => ({ path: "stage.backend", message })));
    this.perUm = microstepsPerUm(motion);
    this.limits = rampLimits(motion);
    this.info = { kind, resolutionUm: 1 / this.perUm };
    this.clock = deps.clock ?? new RealClock();
    this.store = PositionStore.inStateDir(deps.stateDir);
  }

  /** Loads the library and claims the lines; throws one DeviceError line when anything is missing. */
  protected abstract open(): Promise<void>;
  protected abstract close(): Promise<void>;
  /**
   * Emits every step `cursor` hands out, physically forward (DIR high / phase sequence ascending)
   * or backward, calling `emitted(n)` as steps leave; resolves when the motion has ended.
   */
  protected abstract drive(cursor: StepCursor, forward: boolean, emitted: (n: number) => void): Promise<void>;

  async start(): Promise<void> {
    const saved = await this.store.read();
    this.originUm = saved?.positionUm ?? 0;
    this.steps = 0;
    if (saved?.coilPhase !== undefined && this.coilPhase !== undefined) this.coilPhase = ((saved.coilPhase % 8) + 8) % 8;
    await this.open();
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.halt();
    this.started = false;
    await this.close();
  }

  positionUm(): number {
    return this.originUm + this.steps / this.perUm;
  }

  async moveTo(zUm: number, signal?: AbortSignal, options?: MoveOptions): Promise<void> {
    throwIfAborted(signal);
    if (!this.started) throw new DeviceError(`${this.info.kind} stage is not started`, "stage");
    if (this.moving) throw new DeviceError(`${this.info.kind} stage is already moving`, "stage");
    if (!Number.isFinite(zUm)) throw new DeviceError(`invalid stage target ${zUm}`, "stage");
    const delta = Math.round((zUm - this.originUm) * this.perUm) - this.steps;
    if (delta === 0) return;
    const direction = Math.sign(delta);
    const cursor = new StepCursor(planMove(Math.abs(delta), this.limits), this.limits);
    const brake = () => cursor.stop();
    signal?.addEventListener("abort", brake, { once: true });
    this.cursor = cursor;
    const run = this.drive(cursor, direction > 0 !== this.motion.invert, (n) => {
      this.steps += direction * n;
    });
    this.moving = run.then(() => undefined, () => undefined);
    try {
      await run;
    } finally {
      signal?.removeEventListener("abort", brake);
      this.cursor = undefined;
      this.moving = undefined;
      await this.save();
    }
    if (signal?.aborted) throw new CanceledError();
    if (options?.waypointToUm === undefined) await this.clock.sleep(this.motion.settleMs, signal);
  }

  async setPositionUm(zUm: number): Promise<void> {
    if (this.moving) throw new DeviceError("cannot set the stage position while it moves", "stage");
    if (!Number.isFinite(zUm)) throw new DeviceError(`invalid stage position ${zUm}`, "stage");
    this.originUm = zUm;
    this.steps = 0;
    await this.save();
  }

  /** Stops handing out steps; steps already queued in hardware still go out, so the count stays exact. */
  async halt(): Promise<void> {
    this.cursor?.halt();
    await this.moving;
  }

  private save(): Promise<void> {
    return this.store.write({ positionUm: this.positionUm(), coilPhase: this.coilPhase });
  }
}
