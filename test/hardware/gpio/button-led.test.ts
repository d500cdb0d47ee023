import { describe, expect, it } from "vitest";
import { DeviceError } from "../../../src/errors.js";
import { GpioButton, PressDetector } from "../../../src/hardware/button/gpio.js";
import type { ButtonEvent } from "../../../src/hardware/button/types.js";
import { VirtualClock } from "../../../src/hardware/clock.js";
import { GpioLed } from "../../../src/hardware/led/gpio.js";
import { fakeLibgpiod, fakeOnoff, PI5_CHIPS, pi5Sysfs, runUntil } from "./fakes.js";

/** Line level over time from a list of [timeMs, level] edges (level before the first edge: 1, released). */
function levelAt(edges: [number, 0 | 1][]): (tMs: number) => 0 | 1 {
  return (tMs) => {
    let level: 0 | 1 = 1;
    for (const [t, l] of edges) if (t <= tMs) level = l;
    return level;
  };
}

/** A press from `downMs` to `upMs` (active low), with 8 ms of contact bounce at both ends. */
function bouncyPress(downMs: number, upMs: number): [number, 0 | 1][] {
  return [
    [downMs, 0], [downMs + 2, 1], [downMs + 3, 0], [downMs + 6, 1], [downMs + 8, 0],
    [upMs, 1], [upMs + 1, 0], [upMs + 4, 1], [upMs + 5, 0], [upMs + 8, 1],
  ];
}

describe("GPIO button", () => {
  it("debounces bouncy edges into one event per press and classifies short and long presses (onoff, Pi 5 sysfs)", async () => {
    const clock = new VirtualClock();
    const edges = [...bouncyPress(100, 400), [700, 0], [710, 1] /* 10 ms glitch */, ...bouncyPress(1000, 2600)] as [number, 0 | 1][];
    const line = levelAt(edges);
    const fake = fakeOnoff(clock, (gpio) => (gpio === 571 + 26 ? line(clock.nowMs()) : 1));
    const button = new GpioButton({ kind: "gpio", library: "onoff", chip: "auto", pin: 26, debounceMs: 20, longPressMs: 1000, pollMs: 2 }, { clock, lib: fake.module, sysfsRoot: await pi5Sysfs() });
    const events: ButtonEvent[] = [];
    button.onPress((e) => events.push(e));
    await button.start();
    expect(fake.exported).toEqual([{ gpio: 597, direction: "in" }]);
    await runUntil(clock, 3000);
    await button.stop();
    expect(events.map((e) => e.kind)).toEqual(["short", "long"]);
    expect(events[0].durationMs).toBeGreaterThanOrEqual(295);
    expect(events[0].durationMs).toBeLessThanOrEqual(312);
    expect(events[1].durationMs).toBeGreaterThanOrEqual(1595);
    expect(events[1].durationMs).toBeLessThanOrEqual(1612);
    expect(fake.unexported).toEqual([597]);
  });

  it("requests a pull-up bias through libgpiod and ignores a button held at start-up", async () => {
    const clock = new VirtualClock();
    const line = levelAt([[0, 0], [300, 1], ...bouncyPress(500, 700)]);
    const fake = fakeLibgpiod(clock, PI5_CHIPS, () => line(clock.nowMs()));
    const button = new GpioButton({ kind: "gpio", library: "libgpiod", chip: "pinctrl-rp1", pin: "GPIO26" }, { clock, lib: fake.module });
    const events: ButtonEvent[] = [];
    const off = button.onPress((e) => events.push(e));
    await button.start();
    expect(fake.requests).toEqual([{ chip: "gpiochip4", offset: 26, mode: "in", flags: 32 }]);
    await runUntil(clock, 1000);
    await button.stop();
    expect(events).toHaveLength(1);
    expect(events[0].kind).toBe("short");
    expect(events[0].durationMs).toBeGreaterThanOrEqual(200);
    expect(events[0].durationMs).toBeLessThanOrEqual(215); // bounce + sampling
    off();
  });

  it("press detector: a level must hold for debounceMs; durations are dated from the first edge", () => {
    const d = new PressDetector(30, 500);
    const feed = (samples: [number, boolean][]) => samples.map(([t, p]) => d.sample(p, t)).filter((e) => e !== undefined);
    expect(feed([[0, false], [10, true], [20, false], [30, true], [50, true], [59, true], [60, true]])).toEqual([]);
    expect(feed([[600, false], [629, false], [630, false]])).toEqual([{ kind: "long", durationMs: 570 }]);
  });

  it("without the package, start() is one DeviceError line", async () => {
    const button = new GpioButton({ kind: "gpio", library: "onoff", chip: "auto", pin: 26 });
    const err = await button.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toMatch(/^button: the "onoff" package is not installed; install it: npm install onoff/);
  });
});

describe("GPIO LED", () => {
  it("renders off, idle (steady), busy (blink) and error (fast blink)", async () => {
    const clock = new VirtualClock();
    const fake = fakeLibgpiod(clock, PI5_CHIPS);
    const led = new GpioLed({ kind: "gpio", library: "libgpiod", chip: "auto", pin: 16 }, { clock, lib: fake.module });
    await led.start();
    led.set("idle");
    expect(fake.writes.map((w) => w.value)).toEqual([0, 0, 1]); // requested low, off, idle
    fake.writes.length = 0;
    led.set("busy");
    await runUntil(clock, 2100);
    expect(fake.writes.slice(0, 5).map((w) => [w.atMs, w.value])).toEqual([[0, 1], [500, 0], [1000, 1], [1500, 0], [2000, 1]]);
    fake.writes.length = 0;
    const t0 = clock.nowMs();
    led.set("error");
    await runUntil(clock, t0 + 450);
    expect(fake.writes.slice(0, 5).map((w) => [w.atMs - t0, w.value])).toEqual([[0, 1], [100, 0], [200, 1], [300, 0], [400, 1]]);
    led.set("off");
    const after = fake.writes.length;
    await clock.sleep(1000);
    expect(fake.writes.slice(after - 1).map((w) => w.value)).toEqual([0]);
    await led.stop();
    expect(fake.released).toEqual([{ chip: "gpiochip4", offset: 16 }]);
  });

  it("active-low wiring inverts the line", async () => {
    const clock = new VirtualClock();
    const fake = fakeLibgpiod(clock, PI5_CHIPS);
    const led = new GpioLed({ kind: "gpio", library: "libgpiod", chip: "auto", pin: 16, activeLow: true }, { clock, lib: fake.module });
    led.set("idle");
    await led.start();
    await led.stop();
    expect(fake.writes.map((w) => w.value)).toEqual([1, 0, 1]);
  });
});
