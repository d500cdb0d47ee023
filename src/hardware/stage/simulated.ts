import type { SimulatedStageConfig } from "../../config/schema.js";
import { CanceledError } from "../../errors.js";
import type { Clock } from "../clock.js";
import type { MoveOptions, StageBackend, StageInfo } from "./types.js";

/** Travel (µm) after `tMs` of a trapezoidal/triangular move of `distanceUm` (≥ 0), and its duration. */
export function trapezoid(distanceUm: number, maxSpeedUmPerS: number, accelUmPerS2: number): { durationMs: number; travelUm: (tMs: number) => number; speedUmPerS: (tMs: number) => number } {
  const vPeak = Math.min(maxSpeedUmPerS, Math.sqrt(distanceUm * accelUmPerS2));
  const tAcc = vPeak / accelUmPerS2;
  const cruise = vPeak > 0 ? (distanceUm - vPeak * tAcc) / vPeak : 0;
  const total = 2 * tAcc + cruise;
  const speed = (t: number) => (t <= 0 || t >= total ? 0 : Math.min(vPeak, accelUmPerS2 * t, accelUmPerS2 * (total - t)));
  const travel = (t: number) => {
    if (t <= 0) return 0;
    if (t >= total) return distanceUm;
    if (t < tAcc) return 0.5 * accelUmPerS2 * t * t;
    if (t <= tAcc + cruise) return 0.5 * vPeak * tAcc + vPeak * (t - tAcc);
    const r = total - t;
    return distanceUm - 0.5 * accelUmPerS2 * r * r;
  };
  return { durationMs: total * 1000, travelUm: (tMs) => travel(tMs / 1000), speedUmPerS: (tMs) => speed(tMs / 1000) };
}

/**
 * A move as planned when it starts: where the focus carriage will rest (commanded coordinate)
 * and when (clock ms, settled) — for a waypoint, at the end of the move it is part of.
 */
export interface PlannedMove {
  physicalUm: number;
  settledAtMs: number;
}

interface Motion {
  startMs: number;
  fromUm: number;
  direction: 1 | -1;
  profile: ReturnType<typeof trapezoid>;
}

/**
 * A simulated stepper on the fine-focus knob: positions quantised to steps, trapezoidal moves
 * timed on the clock, settle time, and mechanical slack between motor and focus. The motor
 * and the focus carriage are coupled with `slackUm` of play: the carriage sits in
 * [motor, motor + slackUm] (raw coordinates) and is pushed only at the ends of that gap, so
 * after an upward approach physical = motor, and reversing first travels slackUm idle.
 * `positionUm()` is the motor position in the commanded coordinate (what software believes).
 */
export class SimulatedStage implements StageBackend {
  readonly info: StageInfo;
  /** Motor position, raw coordinate (µm). */
  private motorUm = 0;
  /** Focus carriage position, raw coordinate (µm). */
  private carriageUm = 0;
  /** commanded = raw + offset (changed by setPositionUm). */
  private offsetUm = 0;
  private motion: Motion | undefined;
  private halter = new AbortController();

  /** `onMove` hears each move as it starts (the simulated camera renders the frame at its target meanwhile). */
  constructor(
    readonly config: SimulatedStageConfig,
    private readonly clock: Clock,
    private readonly onMove?: (move: PlannedMove) => void,
  ) {
    this.info = { kind: "simulated", resolutionUm: 1 / config.stepsPerUm };
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    await this.halt();
  }

  positionUm(): number {
    return this.motorNowUm() + this.offsetUm;
  }

  /** The focus carriage position in the commanded coordinate (what the optics see). */
  physicalUm(): number {
    return this.carriageNowUm() + this.offsetUm;
  }

  /** Offset between the commanded and the raw (mechanical) coordinate. */
  get coordinateOffsetUm(): number {
    return this.offsetUm;
  }

  async setPositionUm(zUm: number): Promise<void> {
    this.offsetUm = zUm - this.motorNowUm();
  }

  async halt(): Promise<void> {
    this.interrupt();
  }

  async moveTo(zUm: number, signal?: AbortSignal, options?: MoveOptions): Promise<void> {
    if (signal?.aborted) throw new CanceledError();
    this.interrupt();
    const waypointTo = options?.waypointToUm;
    const settleMs = waypointTo === undefined ? this.config.settleMs : 0;
    const from = this.motorNowUm();
    const target = this.rawTarget(zUm);
    if (target === from) return;
    const motion: Motion = { startMs: this.clock.nowMs(), fromUm: from, direction: target > from ? 1 : -1, profile: this.profile(target - from) };
    this.motion = motion;
    this.onMove?.(this.plan(motion, target, waypointTo === undefined ? undefined : this.rawTarget(waypointTo)));
    const stop = signal ? AbortSignal.any([signal, this.halter.signal]) : this.halter.signal;
    try {
      await this.clock.sleep(motion.profile.durationMs, stop);
      this.finish(motion, motion.profile.durationMs);
      await this.clock.sleep(settleMs, stop);
    } catch (err) {
      if (this.motion === motion) this.finish(motion, this.clock.nowMs() - motion.startMs, true);
      throw err;
    }
  }

  /** A commanded position as a whole step of the raw coordinate. */
  private rawTarget(zUm: number): number {
    return this.wholeStep(zUm - this.offsetUm);
  }

  private wholeStep(rawUm: number): number {
    const spm = this.config.stepsPerUm;
    return Math.round(rawUm * spm) / spm;
  }

  private profile(distanceUm: number): ReturnType<typeof trapezoid> {
    return trapezoid(Math.abs(distanceUm), this.config.maxSpeedUmPerS, this.config.accelUmPerS2);
  }

  /** Where and when the carriage comes to rest after `motion` to raw `target` (and then on to raw `finalUm`, when a waypoint). */
  private plan(motion: Motion, target: number, finalUm?: number): PlannedMove {
    const carriage = this.carriageAt(target);
    const endMs = motion.startMs + motion.profile.durationMs + this.config.settleMs;
    if (finalUm === undefined) return { physicalUm: carriage + this.offsetUm, settledAtMs: endMs };
    const rest = Math.min(Math.max(carriage, finalUm), finalUm + this.config.slackUm);
    return { physicalUm: rest + this.offsetUm, settledAtMs: endMs + this.profile(finalUm - target).durationMs };
  }

  /** Stops any motion now (decelerating) and cancels its pending moveTo. */
  private interrupt(): void {
    if (this.motion) this.finish(this.motion, this.clock.nowMs() - this.motion.startMs, true);
    this.halter.abort();
    this.halter = new AbortController();
  }

  /** Ends a motion after `elapsedMs`; an interrupted one decelerates at full rate to a whole step. */
  private finish(motion: Motion, elapsedMs: number, decelerate = false): void {
    const { profile } = motion;
    const t = Math.min(elapsedMs, profile.durationMs);
    const v = profile.speedUmPerS(t);
    const braking = decelerate ? (v * v) / (2 * this.config.accelUmPerS2) : 0;
    const total = profile.travelUm(profile.durationMs);
    const travel = Math.min(total, profile.travelUm(t) + braking);
    this.motorUm = this.wholeStep(motion.fromUm + motion.direction * travel);
    this.carriageUm = this.carriageAt(this.motorUm);
    this.motion = undefined;
  }

  private motorNowUm(): number {
    const m = this.motion;
    if (!m) return this.motorUm;
    return m.fromUm + m.direction * m.profile.travelUm(this.clock.nowMs() - m.startMs);
  }

  private carriageNowUm(): number {
    return this.motion ? this.carriageAt(this.motorNowUm()) : this.carriageUm;
  }

  /** Carriage position once the motor reaches `motorUm` monotonically from the last rest state. */
  private carriageAt(motorUm: number): number {
    return Math.min(Math.max(this.carriageUm, motorUm), motorUm + this.config.slackUm);
  }
}
