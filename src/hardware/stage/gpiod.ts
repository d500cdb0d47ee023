import { ConfigError } from "../../errors.js";
import { RealClock, type Clock } from "../clock.js";
import { openGpioLines, type GpioChipOptions, type GpioLinesDeps, type GpioPin, type OutputLine } from "../gpio-lines.js";
import type { StepCursor, StepperMotionOptions } from "./step-plan.js";
import { StepperStage, type StepperDeps } from "./stepper.js";

/**
 * Stepper on plain GPIO lines with software timing, for boards pigpio does not support
 * (Raspberry Pi 5, Jetson): through node-libgpiod (`library: "libgpiod"`) or onoff (sysfs).
 * Lines are offsets on the chip found by label (see gpio-lines.ts), or line names with libgpiod.
 *
 * Drivers:
 * - `step-dir`: A4988/DRV8825/TMC2209 STEP, DIR and optional EN lines;
 * - `uln2003`: a 28BYJ-48 on a ULN2003 board, IN1–IN4 driven through the 8-entry half-step
 *   sequence (`microsteps: 2`) or the 4-entry two-coil full-step sequence (`microsteps: 1`);
 *   a 28BYJ-48 makes about 4076 half steps per output turn.
 *
 * Timing comes from Node's event loop: steps are never early, but may be late by up to ~1 ms
 * under load, so keep these drives slow (≲ 1000 steps/s; a 28BYJ-48 stalls above ~800 half
 * steps/s anyway). Intervals under ~1.5 ms are busy-waited.
 */
export interface GpiodStageOptions extends StepperMotionOptions, GpioChipOptions {
  kind: "gpiod";
  driver: "step-dir" | "uln2003";
  /** step-dir: STEP line. */
  stepPin?: GpioPin;
  /** step-dir: DIR line; high = forward (+z unless `invert`). */
  dirPin?: GpioPin;
  /** step-dir: EN line, when wired. */
  enablePin?: GpioPin;
  /** step-dir: EN is active low on A4988/DRV8825/TMC2209 boards; default true. */
  enableActiveLow?: boolean;
  /** uln2003: the IN1, IN2, IN3, IN4 lines, in this order. */
  coilPins?: GpioPin[];
  /** De-energise between moves; default false for step-dir, true for uln2003 (its gearbox holds, its coils heat). */
  releaseWhenIdle?: boolean;
}

export interface GpiodStageDeps extends StepperDeps, GpioLinesDeps {}

/** ULN2003 IN1–IN4 patterns, one half step apart; the odd entries (two coils on) are the full steps. */
export const ULN2003_HALF_STEP: readonly (readonly (0 | 1)[])[] = [
  [1, 0, 0, 0],
  [1, 1, 0, 0],
  [0, 1, 0, 0],
  [0, 1, 1, 0],
  [0, 0, 1, 0],
  [0, 0, 1, 1],
  [0, 0, 0, 1],
  [1, 0, 0, 1],
];

const SPIN_MS = 1.5;
const ENABLE_SETUP_MS = 2;

/** Waits until `dueMs`: sleeps, then (on the wall clock) busy-waits the last ~1.5 ms; always yields once. */
async function waitUntil(clock: Clock, dueMs: number): Promise<void> {
  const spinMs = clock instanceof RealClock ? SPIN_MS : 0;
  const remaining = dueMs - clock.nowMs();
  if (remaining > spinMs) await clock.sleep(remaining - spinMs);
  else await new Promise<void>((resolve) => setImmediate(resolve));
  if (spinMs > 0) while (clock.nowMs() < dueMs);
}

export class GpiodStage extends StepperStage {
  private lines: OutputLine[] = [];
  private step?: OutputLine;
  private dir?: OutputLine;
  private enable?: OutputLine;
  private coils: OutputLine[] = [];
  private readonly release: boolean;

  constructor(readonly options: GpiodStageOptions, private readonly deps: GpiodStageDeps) {
    super(`gpiod-${options.driver}`, options, deps);
    const uln = options.driver === "uln2003";
    if (uln && !(options.coilPins?.length === 4)) throw new ConfigError("stage.backend (gpiod uln2003): coilPins must list IN1–IN4");
    if (uln && options.microsteps !== 1 && options.microsteps !== 2) throw new ConfigError("stage.backend (gpiod uln2003): microsteps must be 1 (full step) or 2 (half step)");
    if (!uln && (options.stepPin === undefined || options.dirPin === undefined)) throw new ConfigError("stage.backend (gpiod step-dir): stepPin and dirPin are required");
    this.release = options.releaseWhenIdle ?? uln;
    if (uln) this.coilPhase = 0;
  }

  protected async open(): Promise<void> {
    const gpio = await openGpioLines(this.options, "stage", this.deps);
    const claim = (pin: GpioPin, initial: 0 | 1) => {
      const line = gpio.output(pin, initial);
      this.lines.push(line);
      return line;
    };
    try {
      if (this.options.driver === "uln2003") {
        this.coils = this.options.coilPins!.map((pin) => claim(pin, 0));
        if (!this.release) this.energize(true);
      } else {
        this.step = claim(this.options.stepPin!, 0);
        this.dir = claim(this.options.dirPin!, 0);
        if (this.options.enablePin !== undefined) this.enable = claim(this.options.enablePin, this.enableLevel(!this.release));
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  protected async close(): Promise<void> {
    this.energize(false);
    for (const line of this.lines.splice(0)) line.release();
    this.step = this.dir = this.enable = undefined;
    this.coils = [];
  }

  protected async drive(cursor: StepCursor, forward: boolean, emitted: (n: number) => void): Promise<void> {
    this.dir?.write(forward ? 1 : 0);
    if (this.release) {
      this.energize(true);
      await this.clock.sleep(ENABLE_SETUP_MS);
    }
    try {
      let dueMs = this.clock.nowMs();
      for (let interval = cursor.next(); interval !== undefined; interval = cursor.next()) {
        await waitUntil(this.clock, dueMs);
        this.pulse(forward);
        emitted(1);
        dueMs = this.clock.nowMs() + interval / 1000;
      }
      await waitUntil(this.clock, dueMs);
    } finally {
      if (this.release) this.energize(false);
    }
  }

  /** One step: a STEP pulse, or the next coil pattern (only the lines that change are written). */
  private pulse(forward: boolean): void {
    if (this.step) {
      this.step.write(1);
      this.step.write(0);
      return;
    }
    const stride = this.options.microsteps === 1 ? 2 : 1;
    const from = ULN2003_HALF_STEP[this.coilPhase!];
    this.coilPhase = (this.coilPhase! + (forward ? stride : -stride) + 8) % 8;
    const to = ULN2003_HALF_STEP[this.coilPhase];
    to.forEach((level, i) => level !== from[i] && this.coils[i].write(level));
  }

  /** Drives EN, or the coils of the current phase (full-step mode keeps to the two-coil phases). */
  private energize(on: boolean): void {
    this.enable?.write(this.enableLevel(on));
    if (this.coils.length === 0) return;
    if (on && this.options.microsteps === 1 && this.coilPhase! % 2 === 0) this.coilPhase = (this.coilPhase! + 1) % 8;
    const levels = on ? ULN2003_HALF_STEP[this.coilPhase!] : [0, 0, 0, 0];
    levels.forEach((level, i) => this.coils[i].write(level as 0 | 1));
  }

  private enableLevel(enabled: boolean): 0 | 1 {
    return enabled !== (this.options.enableActiveLow ?? true) ? 1 : 0;
  }
}
