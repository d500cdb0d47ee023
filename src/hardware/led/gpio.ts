import { CanceledError } from "../../errors.js";
import { RealClock, type Clock } from "../clock.js";
import { openGpioLines, type GpioChipOptions, type GpioLinesDeps, type GpioPin, type OutputLine } from "../gpio-lines.js";
import type { Led, LedPattern } from "./types.js";

/**
 * Status LED on a GPIO line (through a ~330 Ω resistor to GND, or active low to 3V3):
 * idle = steady on, busy = blink, error = fast blink, off = off.
 */
export interface GpioLedOptions extends GpioChipOptions {
  kind: "gpio";
  pin: GpioPin;
  /** The LED lights when the line is low; default false. */
  activeLow?: boolean;
  /** Half period of the busy blink; default 500 ms (1 Hz). */
  blinkMs?: number;
  /** Half period of the error blink; default 100 ms (5 Hz). */
  fastBlinkMs?: number;
}

export interface GpioLedDeps extends GpioLinesDeps {
  clock?: Clock;
}

export class GpioLed implements Led {
  private readonly clock: Clock;
  private line?: OutputLine;
  private pattern: LedPattern = "off";
  private blinking?: AbortController;

  constructor(readonly options: GpioLedOptions, private readonly deps: GpioLedDeps = {}) {
    this.clock = deps.clock ?? new RealClock();
  }

  /** Half period of a blinking pattern; undefined for steady ones. */
  halfPeriodMs(pattern: LedPattern): number | undefined {
    if (pattern === "busy") return this.options.blinkMs ?? 500;
    if (pattern === "error") return this.options.fastBlinkMs ?? 100;
    return undefined;
  }

  async start(): Promise<void> {
    const gpio = await openGpioLines(this.options, "led", this.deps);
    this.line = gpio.output(this.options.pin, this.level(false));
    this.render();
  }

  async stop(): Promise<void> {
    this.blinking?.abort();
    this.line?.write(this.level(false));
    this.line?.release();
    this.line = undefined;
  }

  set(pattern: LedPattern): void {
    if (pattern === this.pattern) return;
    this.pattern = pattern;
    if (this.line) this.render();
  }

  private render(): void {
    this.blinking?.abort();
    this.blinking = undefined;
    const line = this.line!;
    const halfMs = this.halfPeriodMs(this.pattern);
    if (halfMs === undefined) return line.write(this.level(this.pattern === "idle"));
    const blinking = (this.blinking = new AbortController());
    void (async () => {
      for (let on = true; ; on = !on) {
        line.write(this.level(on));
        await this.clock.sleep(halfMs, blinking.signal);
      }
    })().catch((err) => {
      if (!(err instanceof CanceledError)) throw err;
    });
  }

  private level(lit: boolean): 0 | 1 {
    return lit !== (this.options.activeLow ?? false) ? 1 : 0;
  }
}
