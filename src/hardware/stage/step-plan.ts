/**
 * Pure motion planning for stepper stages: µm ↔ (micro)steps and acceleration ramps as lists
 * of step intervals. No I/O; the pigpio backend turns a plan into DMA waveforms, the gpiod
 * backend into software-timed line writes.
 *
 * A plan is a `Uint32Array` of intervals in µs: step `i` is emitted, then `intervalsUs[i]`
 * elapses before step `i + 1` (after the last step: until the motion has ended). Its length
 * is the exact step count; the speed of step `i` is `1e6 / intervalsUs[i]` steps/s.
 */

/** Motion options shared by every step-driven backend (units in names). */
export interface StepperMotionOptions {
  /** Full motor steps per µm of focus travel (gearing, knob, lead screw). */
  stepsPerUm: number;
  /** Driver microstep setting (1, 2, 4 … 256); for the ULN2003 driver 1 = full step, 2 = half step. */
  microsteps: number;
  /** Swap the direction so that +z is upward on this mechanics. */
  invert: boolean;
  maxSpeedUmPerS: number;
  accelUmPerS2: number;
  /** Pause after each move before the stage reports arrival (vibration decay). */
  settleMs: number;
}

export interface RampLimits {
  maxStepsPerS: number;
  accelStepsPerS2: number;
}

/** Commandable steps per µm: full steps × microsteps. */
export function microstepsPerUm(motion: Pick<StepperMotionOptions, "stepsPerUm" | "microsteps">): number {
  return motion.stepsPerUm * motion.microsteps;
}

export function rampLimits(motion: StepperMotionOptions): RampLimits {
  const k = microstepsPerUm(motion);
  return { maxStepsPerS: motion.maxSpeedUmPerS * k, accelStepsPerS2: motion.accelUmPerS2 * k };
}

/** Shortest interval the limits allow, rounded up so that no step is faster than the maximum speed. */
export function minIntervalUs(limits: RampLimits): number {
  return Math.ceil(1e6 / limits.maxStepsPerS - 1e-9);
}

/** Turns absolute step times (s, one more than steps: the last is the end of motion) into integer intervals. */
function intervalsFromTimes(stepTimeS: (x: number) => number, steps: number, limits: RampLimits): Uint32Array {
  const out = new Uint32Array(steps);
  const floorUs = Math.max(1, minIntervalUs(limits));
  let prevUs = Math.round(stepTimeS(0) * 1e6);
  for (let i = 0; i < steps; i++) {
    const nextUs = Math.round(stepTimeS(i + 1) * 1e6);
    out[i] = Math.max(floorUs, nextUs - prevUs);
    prevUs = nextUs;
  }
  return out;
}

/**
 * A move of `steps` steps from rest to rest: trapezoidal profile (accelerate at the limit, cruise
 * at the maximum speed, decelerate), or triangular when the move is too short to reach it.
 * Step `x` is emitted at the time the ideal profile has covered `x` steps.
 */
export function planMove(steps: number, limits: RampLimits): Uint32Array {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`step count must be a non-negative integer, got ${steps}`);
  const a = limits.accelStepsPerS2;
  const vPeak = Math.min(limits.maxStepsPerS, Math.sqrt(a * steps));
  const rampSteps = (vPeak * vPeak) / (2 * a);
  const rampS = vPeak / a;
  const totalS = 2 * rampS + (steps - 2 * rampSteps) / vPeak;
  const time = (x: number): number => {
    if (x <= rampSteps) return Math.sqrt((2 * x) / a);
    if (x <= steps - rampSteps) return rampS + (x - rampSteps) / vPeak;
    return totalS - Math.sqrt((2 * Math.max(0, steps - x)) / a);
  };
  return intervalsFromTimes(time, steps, limits);
}

/** Steps needed to stop from `speedStepsPerS` at the acceleration limit. */
export function stoppingSteps(speedStepsPerS: number, limits: RampLimits): number {
  return Math.ceil((speedStepsPerS * speedStepsPerS) / (2 * limits.accelStepsPerS2) - 1e-9);
}

/** Uniform deceleration from `speedStepsPerS` to rest in `stoppingSteps()` steps (never faster than that speed). */
export function planStop(speedStepsPerS: number, limits: RampLimits): Uint32Array {
  const n = stoppingSteps(speedStepsPerS, limits);
  if (n <= 0) return new Uint32Array(0);
  const a = (speedStepsPerS * speedStepsPerS) / (2 * n);
  const totalS = speedStepsPerS / a;
  return intervalsFromTimes((x) => totalS - Math.sqrt((2 * (n - x)) / a), n, limits);
}

/**
 * Hands out a plan's intervals one step at a time and can change course mid-move: `stop()`
 * replaces the rest of the plan by the shortest allowed deceleration from the current speed,
 * `halt()` ends it at once. `taken` counts the steps handed out, which a backend emits in full:
 * the position is always known to the step.
 */
export class StepCursor {
  private intervals: Uint32Array;
  private index = 0;
  private lastUs = 0;
  taken = 0;

  constructor(plan: Uint32Array, private readonly limits: RampLimits) {
    this.intervals = plan;
  }

  next(): number | undefined {
    if (this.index >= this.intervals.length) return undefined;
    this.taken++;
    this.lastUs = this.intervals[this.index++];
    return this.lastUs;
  }

  stop(): void {
    if (this.taken === 0) return this.halt();
    const speed = 1e6 / this.lastUs;
    const remaining = this.intervals.length - this.index;
    if (remaining <= stoppingSteps(speed, this.limits)) return; // the plan is already braking
    this.intervals = planStop(speed, this.limits);
    this.index = 0;
  }

  halt(): void {
    this.intervals = new Uint32Array(0);
    this.index = 0;
  }
}
