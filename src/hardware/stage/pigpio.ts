import { ConfigError, DeviceError } from "../../errors.js";
import { firstLine, importNative } from "../gpio-lines.js";
import { minIntervalUs, type StepCursor, type StepperMotionOptions } from "./step-plan.js";
import { StepperStage, type StepperDeps } from "./stepper.js";

/**
 * Step/dir driver (A4988, DRV8825, TMC2208/2209 in step/dir mode) on a Raspberry Pi 1–4 through
 * pigpio's DMA waveforms: pulse timing is done by hardware, not by Node's event loop.
 * Pins are BCM GPIO numbers. pigpio needs root (it maps /dev/mem), refuses to start while the
 * pigpiod daemon runs, and does not support the Pi 5 (use the gpiod backend there).
 */
export interface PigpioStageOptions extends StepperMotionOptions {
  kind: "pigpio";
  /** BCM GPIO of the driver's STEP input (1–27: pigpio waveforms cannot address GPIO 0). */
  stepPin: number;
  /** BCM GPIO of the DIR input; high = forward (+z unless `invert`). */
  dirPin: number;
  /** BCM GPIO of the EN input, when wired. */
  enablePin?: number;
  /** EN is active low on A4988/DRV8825/TMC2209 boards; default true. */
  enableActiveLow?: boolean;
  /** Disable the driver between moves (no holding torque, cooler motor, knob turns by hand); default false. */
  releaseWhenIdle?: boolean;
  /** STEP high time; default 5 µs (A4988 needs ≥ 1 µs, TMC2209 ≥ 0.1 µs). */
  pulseUs?: number;
}

/** The slice of the `pigpio` npm package used here (pulses name GPIOs by number, 0 = none). */
export interface PigpioModule {
  Gpio: (new (gpio: number, options: { mode: number }) => PigpioGpio) & { readonly OUTPUT: number };
  initialize?(): void;
  terminate?(): void;
  waveClear(): void;
  waveAddGeneric(pulses: PigpioPulse[]): number;
  waveCreate(): number;
  waveDelete(waveId: number): void;
  waveTxSend(waveId: number, waveMode: number): number;
  /** Throws when no wave is transmitting: ask `waveTxBusy()` first. */
  waveTxAt(): number;
  waveTxBusy(): number;
  waveTxStop(): void;
  readonly WAVE_MODE_ONE_SHOT: number;
  readonly WAVE_MODE_ONE_SHOT_SYNC: number;
}
export interface PigpioGpio {
  digitalWrite(level: 0 | 1 | number): unknown;
}
export interface PigpioPulse {
  gpioOn: number;
  gpioOff: number;
  usDelay: number;
}

export interface PigpioStageDeps extends StepperDeps {
  /** A pigpio module object to use instead of importing the package (tests). */
  lib?: PigpioModule;
}

/** Each wave holds about this much motion at full speed; two are queued at a time. */
const CHUNK_MS = 40;
const MAX_CHUNK_STEPS = 1000;
const POLL_MS = 5;
const ENABLE_SETUP_MS = 2;

/**
 * Moves are streamed as a double-buffered queue of waves: one transmitting, the next queued
 * with ONE_SHOT_SYNC; a wave is deleted and its steps counted only once the next has taken over,
 * so the position is exact. A cancelled move brakes on the following waves (≤ 2 × 40 ms later).
 */
export class PigpioStage extends StepperStage {
  private lib?: PigpioModule;
  private dir?: PigpioGpio;
  private enable?: PigpioGpio;
  private readonly pulseUs: number;
  private readonly chunkSteps: number;

  constructor(readonly options: PigpioStageOptions, private readonly deps: PigpioStageDeps) {
    super("pigpio", options, deps);
    this.pulseUs = options.pulseUs ?? 5;
    const pins = [options.stepPin, options.dirPin, ...(options.enablePin !== undefined ? [options.enablePin] : [])];
    if (!pins.every((p) => Number.isInteger(p) && p >= 1 && p <= 27) || new Set(pins).size !== pins.length)
      throw new ConfigError(`stage.backend (pigpio): stepPin, dirPin and enablePin must be distinct BCM GPIOs 1–27, got ${pins.join(", ")}`);
    if (minIntervalUs(this.limits) < 2 * this.pulseUs)
      throw new ConfigError(`stage.backend (pigpio): maxSpeedUmPerS gives steps every ${minIntervalUs(this.limits)} µs, too short for ${this.pulseUs} µs pulses`);
    this.chunkSteps = Math.min(MAX_CHUNK_STEPS, Math.max(16, Math.ceil((this.limits.maxStepsPerS * CHUNK_MS) / 1000)));
  }

  protected async open(): Promise<void> {
    const lib = this.deps.lib ?? (await importNative<PigpioModule>("pigpio", "stage"));
    try {
      lib.initialize?.();
      const out = (pin: number, level: 0 | 1) => {
        const gpio = new lib.Gpio(pin, { mode: lib.Gpio.OUTPUT });
        gpio.digitalWrite(level);
        return gpio;
      };
      out(this.options.stepPin, 0); // the waves drive it by pin number; only its mode and idle level are set here
      this.dir = out(this.options.dirPin, 0);
      if (this.options.enablePin !== undefined) this.enable = out(this.options.enablePin, this.enableLevel(!this.options.releaseWhenIdle));
    } catch (err) {
      throw new DeviceError(`stage: pigpio could not start (${firstLine(err)}); run focusbox as root, stop the pigpiod daemon (sudo systemctl disable --now pigpiod), and use a Pi 1–4`, "stage", { cause: err });
    }
    this.lib = lib;
  }

  protected async close(): Promise<void> {
    this.enable?.digitalWrite(this.enableLevel(false));
    this.lib?.terminate?.();
    this.lib = this.dir = this.enable = undefined;
  }

  protected async drive(cursor: StepCursor, forward: boolean, emitted: (n: number) => void): Promise<void> {
    const lib = this.lib!;
    this.dir!.digitalWrite(forward ? 1 : 0);
    if (this.options.releaseWhenIdle && this.enable) {
      this.enable.digitalWrite(this.enableLevel(true));
      await this.clock.sleep(ENABLE_SETUP_MS);
    }
    const queue: { id: number; steps: number }[] = [];
    try {
      lib.waveClear();
      while (queue.length < 2 && this.sendChunk(cursor, queue)) {}
      while (queue.length > 0) {
        await this.clock.sleep(POLL_MS);
        const current = lib.waveTxBusy() ? lib.waveTxAt() : -1;
        while (queue.length > 0 && queue[0].id !== current) {
          const done = queue.shift()!;
          lib.waveDelete(done.id);
          emitted(done.steps);
        }
        while (queue.length < 2 && this.sendChunk(cursor, queue)) {}
      }
    } catch (err) {
      lib.waveTxStop();
      throw new DeviceError(`stage: pigpio waveform failed (${firstLine(err)}); the position may be off by up to ${2 * this.chunkSteps} steps`, "stage", { cause: err });
    } finally {
      if (this.options.releaseWhenIdle) this.enable?.digitalWrite(this.enableLevel(false));
    }
  }

  /** Builds the next wave from the cursor and queues it; false when the cursor is exhausted. */
  private sendChunk(cursor: StepCursor, queue: { id: number; steps: number }[]): boolean {
    const lib = this.lib!;
    const pin = this.options.stepPin;
    const pulses: PigpioPulse[] = [];
    let steps = 0;
    for (let interval = cursor.next(); interval !== undefined; interval = steps < this.chunkSteps ? cursor.next() : undefined) {
      pulses.push({ gpioOn: pin, gpioOff: 0, usDelay: this.pulseUs }, { gpioOn: 0, gpioOff: pin, usDelay: interval - this.pulseUs });
      steps++;
    }
    if (steps === 0) return false;
    lib.waveAddGeneric(pulses);
    const id = lib.waveCreate();
    lib.waveTxSend(id, queue.length > 0 ? lib.WAVE_MODE_ONE_SHOT_SYNC : lib.WAVE_MODE_ONE_SHOT);
    queue.push({ id, steps });
    return true;
  }

  private enableLevel(enabled: boolean): 0 | 1 {
    return enabled !== (this.options.enableActiveLow ?? true) ? 1 : 0;
  }
}
