/**
 * Fakes of the native GPIO packages at their API boundary (what `import("pigpio")`,
 * `import("node-libgpiod")` and `import("onoff")` return), timed by a VirtualClock.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../../src/hardware/clock.js";
import type { LibgpiodChip, LibgpiodLine, LibgpiodModule, OnoffGpio, OnoffModule } from "../../../src/hardware/gpio-lines.js";
import type { PigpioModule, PigpioPulse } from "../../../src/hardware/stage/pigpio.js";

interface Transmission {
  id: number;
  startMs: number;
  endMs: number;
  pulses: PigpioPulse[];
  /** Pin levels when the wave was sent. */
  levels: Map<number, number>;
}

export interface StepEvent {
  atUs: number;
  dir: number;
}

/** pigpio with a DMA timeline: waves start now (ONE_SHOT) or after the current one (ONE_SHOT_SYNC). */
export class FakePigpio implements PigpioModule {
  readonly WAVE_MODE_ONE_SHOT = 0;
  readonly WAVE_MODE_ONE_SHOT_SYNC = 2;
  readonly levels = new Map<number, number>();
  readonly writes: { pin: number; level: number; busy: boolean }[] = [];
  readonly transmissions: Transmission[] = [];
  /** API misuse seen (deleting a wave still queued or transmitting…). */
  readonly violations: string[] = [];
  initialized = 0;
  terminated = 0;
  private pending: PigpioPulse[] = [];
  private readonly waves = new Map<number, PigpioPulse[]>();
  readonly Gpio: PigpioModule["Gpio"];

  constructor(private readonly clock: Clock) {
    const fake = this;
    this.Gpio = class {
      static readonly OUTPUT = 1;
      constructor(readonly gpio: number, options: { mode: number }) {
        if (options.mode !== 1) fake.violations.push(`GPIO ${gpio} not set as output`);
      }
      digitalWrite(level: number) {
        fake.levels.set(this.gpio, level);
        fake.writes.push({ pin: this.gpio, level, busy: fake.waveTxBusy() === 1 });
      }
    };
  }

  initialize() {
    this.initialized++;
  }
  terminate() {
    this.terminated++;
  }
  waveClear() {
    this.waves.clear();
    this.pending = [];
  }
  waveAddGeneric(pulses: PigpioPulse[]) {
    for (const p of pulses) if (![p.gpioOn, p.gpioOff, p.usDelay].every((v) => Number.isInteger(v) && v >= 0)) this.violations.push(`bad pulse ${JSON.stringify(p)}`);
    this.pending.push(...pulses);
    return this.pending.length;
  }
  waveCreate() {
    let id = 0;
    while (this.waves.has(id)) id++;
    this.waves.set(id, this.pending);
    this.pending = [];
    return id;
  }
  waveDelete(id: number) {
    const now = this.clock.nowMs();
    if (this.transmissions.some((t) => t.id === id && t.endMs > now)) this.violations.push(`wave ${id} deleted before it finished`);
    this.waves.delete(id);
  }
  waveTxSend(id: number, mode: number) {
    const pulses = this.waves.get(id);
    if (!pulses) throw new Error(`pigpio error -66 in gpioWaveTxSend`);
    const now = this.clock.nowMs();
    const last = this.transmissions.at(-1);
    const busy = last !== undefined && last.endMs > now;
    if (busy && mode === this.WAVE_MODE_ONE_SHOT) this.cut(now);
    if (busy && mode === this.WAVE_MODE_ONE_SHOT_SYNC && this.transmissions.filter((t) => t.startMs > now).length > 0) this.violations.push("second wave queued behind a pending one");
    const startMs = busy && mode === this.WAVE_MODE_ONE_SHOT_SYNC ? last!.endMs : now;
    const durationMs = pulses.reduce((s, p) => s + p.usDelay, 0) / 1000;
    this.transmissions.push({ id, startMs, endMs: startMs + durationMs, pulses, levels: new Map(this.levels) });
    return pulses.length;
  }
  waveTxAt() {
    const now = this.clock.nowMs();
    const t = this.transmissions.find((x) => x.startMs <= now && now < x.endMs);
    if (!t) throw new Error("pigpio error 9999 in gpioWaveTxAt");
    return t.id;
  }
  waveTxBusy() {
    const last = this.transmissions.at(-1);
    return last !== undefined && last.endMs > this.clock.nowMs() ? 1 : 0;
  }
  waveTxStop() {
    this.cut(this.clock.nowMs());
  }

  /** Rising edges of `stepPin` actually transmitted, with the DIR level at the time. */
  steps(stepPin: number, dirPin: number): StepEvent[] {
    const out: StepEvent[] = [];
    for (const t of this.transmissions) {
      let atUs = t.startMs * 1000;
      for (const p of t.pulses) {
        if (atUs >= t.endMs * 1000) break;
        if (p.gpioOn === stepPin) out.push({ atUs, dir: t.levels.get(dirPin) ?? 0 });
        atUs += p.usDelay;
      }
    }
    return out;
  }

  private cut(nowMs: number) {
    for (const t of this.transmissions) {
      if (t.startMs >= nowMs) t.endMs = t.startMs;
      else if (t.endMs > nowMs) t.endMs = nowMs;
    }
  }
}

export interface LineWrite {
  chip: string;
  offset: number;
  value: number;
  atMs: number;
}

export interface FakeChipSpec {
  name: string;
  label: string;
  lines: number;
  lineNames?: string[];
}

/** Raspberry Pi 5 on a kernel where RP1 is gpiochip4 (the SoC's own GPIOs come first). */
export const PI5_CHIPS: FakeChipSpec[] = [
  { name: "gpiochip0", label: "gpio-brcmstb@107d508500", lines: 32 },
  { name: "gpiochip1", label: "gpio-brcmstb@107d508520", lines: 4 },
  { name: "gpiochip2", label: "gpio-brcmstb@107d517c00", lines: 17 },
  { name: "gpiochip3", label: "gpio-brcmstb@107d517c20", lines: 6 },
  { name: "gpiochip4", label: "pinctrl-rp1", lines: 54, lineNames: Array.from({ length: 54 }, (_, i) => (i < 28 ? `GPIO${i}` : `PIN${i}`)) },
];

/** node-libgpiod with chips as specified; records every line write and request. */
export function fakeLibgpiod(clock: Clock, chips: FakeChipSpec[], readLevel: (chip: string, offset: number) => 0 | 1 = () => 1) {
  const writes: LineWrite[] = [];
  const requests: { chip: string; offset: number; mode: string; flags?: number }[] = [];
  const released: { chip: string; offset: number }[] = [];
  class Chip implements LibgpiodChip {
    readonly spec: FakeChipSpec;
    constructor(name: string) {
      const spec = chips.find((c) => c.name === name);
      if (!spec) throw new Error(`cannot open chip ${name}`);
      this.spec = spec;
    }
    get name() {
      return this.spec.name;
    }
    get label() {
      return this.spec.label;
    }
    get numberOfLines() {
      return this.spec.lines;
    }
    get lineNames() {
      return this.spec.lineNames ?? [];
    }
  }
  class Line implements LibgpiodLine {
    static readonly RequestFlags = { BIAS_DISABLE: 8, BIAS_PULL_DOWN: 16, BIAS_PULL_UP: 32 };
    constructor(private readonly chip: LibgpiodChip, private readonly offset: number) {
      if (!(offset >= 0 && offset < chip.numberOfLines)) throw new Error(`no line ${offset}`);
    }
    requestOutputMode(_consumer?: string, defaultValue: 0 | 1 = 0) {
      requests.push({ chip: this.chip.name, offset: this.offset, mode: "out" });
      writes.push({ chip: this.chip.name, offset: this.offset, value: defaultValue, atMs: clock.nowMs() });
    }
    requestInputMode() {
      requests.push({ chip: this.chip.name, offset: this.offset, mode: "in" });
    }
    requestInputModeFlags(_consumer: string, flags: number) {
      requests.push({ chip: this.chip.name, offset: this.offset, mode: "in", flags });
    }
    getValue() {
      return readLevel(this.chip.name, this.offset);
    }
    setValue(value: number) {
      writes.push({ chip: this.chip.name, offset: this.offset, value, atMs: clock.nowMs() });
    }
    release() {
      released.push({ chip: this.chip.name, offset: this.offset });
    }
  }
  const module: LibgpiodModule = { getChipNames: () => chips.map((c) => c.name), Chip, Line };
  return { module, writes, requests, released };
}

/** onoff: GPIOs by global sysfs number. */
export function fakeOnoff(clock: Clock, readLevel: (gpio: number) => 0 | 1 = () => 1) {
  const writes: { gpio: number; value: number; atMs: number }[] = [];
  const exported: { gpio: number; direction: string }[] = [];
  const unexported: number[] = [];
  class Gpio implements OnoffGpio {
    static accessible = true;
    constructor(private readonly gpio: number, direction: "in" | "out" | "high" | "low") {
      exported.push({ gpio, direction });
      if (direction === "high" || direction === "low") writes.push({ gpio, value: direction === "high" ? 1 : 0, atMs: clock.nowMs() });
    }
    readSync() {
      return readLevel(this.gpio);
    }
    writeSync(value: 0 | 1) {
      writes.push({ gpio: this.gpio, value, atMs: clock.nowMs() });
    }
    unexport() {
      unexported.push(this.gpio);
    }
  }
  const module: OnoffModule = { Gpio };
  return { module, writes, exported, unexported };
}

/** A /sys/class/gpio look-alike of a Raspberry Pi 5 on kernel 6.6 (RP1 at base 571). */
export async function pi5Sysfs(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "focusbox-sysfs-"));
  const chips = [
    { name: "gpiochip512", label: "gpio-brcmstb@107d508500", base: 512, ngpio: 32 },
    { name: "gpiochip544", label: "gpio-brcmstb@107d508520", base: 544, ngpio: 4 },
    { name: "gpiochip571", label: "pinctrl-rp1", base: 571, ngpio: 54 },
  ];
  for (const c of chips) {
    await mkdir(join(root, c.name));
    await writeFile(join(root, c.name, "label"), `${c.label}\n`);
    await writeFile(join(root, c.name, "base"), `${c.base}\n`);
    await writeFile(join(root, c.name, "ngpio"), `${c.ngpio}\n`);
  }
  return root;
}

/** Lets a VirtualClock-driven background loop run until the clock reaches `ms`. */
export async function runUntil(clock: Clock, ms: number): Promise<void> {
  while (clock.nowMs() < ms) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function tempStateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "focusbox-state-"));
}
