import { RealClock, type Clock } from "../clock.js";
import { openGpioLines, type GpioChipOptions, type GpioLinesDeps, type GpioPin, type InputLine } from "../gpio-lines.js";
import type { Button, ButtonEvent } from "./types.js";

/**
 * A push button on a GPIO line, sampled every `pollMs` and debounced in software.
 *
 * Pull resistors: libgpiod requests the configured bias (kernel ≥ 5.5). sysfs — and so onoff —
 * cannot set pulls: wire an external 10 kΩ resistor to 3V3, or set the pull at boot
 * (`gpio=17=ip,pu` in /boot/firmware/config.txt on a Pi; `pinctrl set 17 ip pu` once on a Pi 5,
 * `raspi-gpio set 17 ip pu` on a Pi 4). Without a pull the line floats and reads random presses.
 */
export interface GpioButtonOptions extends GpioChipOptions {
  kind: "gpio";
  pin: GpioPin;
  /** Pressed reads low (button to GND, pull-up); default true. */
  activeLow?: boolean;
  /** Bias requested with libgpiod; default "up" when activeLow, else "down". Ignored by onoff. */
  pull?: "up" | "down" | "none";
  /** A level must hold this long to count; default 30 ms. */
  debounceMs?: number;
  /** Presses held at least this long are "long"; default 1000 ms. */
  longPressMs?: number;
  /** Sampling period; default 5 ms. */
  pollMs?: number;
}

export interface GpioButtonDeps extends GpioLinesDeps {
  clock?: Clock;
}

/**
 * Debounce and press classification, fed with (pressed, time) samples. A change of level counts
 * once it has held for `debounceMs`; it is dated from its first sample, so bounces neither split
 * a press nor shorten its duration.
 */
export class PressDetector {
  private stable: boolean | undefined;
  private changedAtMs: number | undefined;
  private pressedAtMs: number | undefined;

  constructor(private readonly debounceMs: number, private readonly longPressMs: number) {}

  /** Returns the press that this sample completes, if any. A button held at start-up is ignored until released. */
  sample(pressed: boolean, nowMs: number): ButtonEvent | undefined {
    if (this.stable === undefined) {
      this.stable = pressed;
      return undefined;
    }
    if (pressed === this.stable) {
      this.changedAtMs = undefined;
      return undefined;
    }
    this.changedAtMs ??= nowMs;
    if (nowMs - this.changedAtMs < this.debounceMs) return undefined;
    const edgeMs = this.changedAtMs;
    this.stable = pressed;
    this.changedAtMs = undefined;
    if (pressed) {
      this.pressedAtMs = edgeMs;
      return undefined;
    }
    if (this.pressedAtMs === undefined) return undefined;
    const durationMs = edgeMs - this.pressedAtMs;
    this.pressedAtMs = undefined;
    return { kind: durationMs >= this.longPressMs ? "long" : "short", durationMs };
  }
}

export class GpioButton implements Button {
  private readonly listeners = new Set<(event: ButtonEvent) => void>();
  private readonly clock: Clock;
  private line?: InputLine;
  private loop?: Promise<void>;
  private running = false;

  constructor(readonly options: GpioButtonOptions, private readonly deps: GpioButtonDeps = {}) {
    this.clock = deps.clock ?? new RealClock();
  }

  async start(): Promise<void> {
    const activeLow = this.options.activeLow ?? true;
    const gpio = await openGpioLines(this.options, "button", this.deps);
    const line = gpio.input(this.options.pin, this.options.pull ?? (activeLow ? "up" : "down"));
    const detector = new PressDetector(this.options.debounceMs ?? 30, this.options.longPressMs ?? 1000);
    const pollMs = this.options.pollMs ?? 5;
    this.line = line;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const event = detector.sample((line.read() === 0) === activeLow, this.clock.nowMs());
        if (event) for (const listener of this.listeners) listener(event);
        await this.clock.sleep(pollMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.line?.release();
    this.line = this.loop = undefined;
  }

  onPress(listener: (event: ButtonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
