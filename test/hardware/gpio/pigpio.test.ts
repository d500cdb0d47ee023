import { describe, expect, it } from "vitest";
import { CanceledError, DeviceError } from "../../../src/errors.js";
import { VirtualClock } from "../../../src/hardware/clock.js";
import { FocusStage } from "../../../src/hardware/stage/focus-stage.js";
import { PigpioStage, type PigpioStageOptions } from "../../../src/hardware/stage/pigpio.js";
import { rampLimits } from "../../../src/hardware/stage/step-plan.js";
import { FakePigpio, runUntil, tempStateDir, type StepEvent } from "./fakes.js";
import { expectWithinLimits } from "./ramp-checks.js";

const options: PigpioStageOptions = {
  kind: "pigpio",
  stepPin: 18,
  dirPin: 23,
  enablePin: 24,
  microsteps: 16,
  stepsPerUm: 2,
  invert: false,
  maxSpeedUmPerS: 200,
  accelUmPerS2: 2000,
  settleMs: 20,
};
const perUm = options.stepsPerUm * options.microsteps;

async function started(overrides: Partial<PigpioStageOptions> = {}, stateDir?: string) {
  const clock = new VirtualClock();
  const lib = new FakePigpio(clock);
  const dir = stateDir ?? (await tempStateDir());
  const stage = new PigpioStage({ ...options, ...overrides }, { stateDir: dir, clock, lib });
  await stage.start();
  return { clock, lib, stage, stateDir: dir };
}

/** Consecutive runs of steps with the same DIR level. */
function segments(steps: StepEvent[]): { dir: number; steps: number }[] {
  const out: { dir: number; steps: number }[] = [];
  for (const s of steps) {
    const last = out.at(-1);
    if (last && last.dir === s.dir) last.steps++;
    else out.push({ dir: s.dir, steps: 1 });
  }
  return out;
}

describe("pigpio stage (fake pigpio module)", () => {
  it("a move of N µm sends exactly N × stepsPerUm × microsteps pulses, DIR high, within the ramp limits", async () => {
    const { lib, stage } = await started();
    await stage.moveTo(100);
    const steps = lib.steps(options.stepPin, options.dirPin);
    expect(steps.length).toBe(100 * perUm);
    expect(steps.every((s) => s.dir === 1)).toBe(true);
    expect(stage.positionUm()).toBe(100);
    const end = lib.transmissions.at(-1)!.endMs * 1000;
    expectWithinLimits([...steps.map((s) => s.atUs), end], rampLimits(options));
    expect(lib.violations).toEqual([]);
    expect(lib.writes.filter((w) => w.busy)).toEqual([]);
    // streamed as several waves, each pulse STEP high then low for the rest of the interval
    expect(lib.transmissions.length).toBeGreaterThan(3);
    expect(lib.transmissions[0].pulses.slice(0, 2)).toEqual([
      { gpioOn: 18, gpioOff: 0, usDelay: 5 },
      { gpioOn: 0, gpioOff: 18, usDelay: expect.any(Number) },
    ]);
    expect(lib.levels.get(options.enablePin!)).toBe(0); // active-low EN held enabled
    await stage.stop();
    expect(lib.levels.get(options.enablePin!)).toBe(1);
    expect(lib.terminated).toBe(1);
  });

  it("moves down with DIR low, and inverted DIR when configured", async () => {
    const { lib, stage } = await started();
    await stage.moveTo(-12.5);
    expect(segments(lib.steps(18, 23))).toEqual([{ dir: 0, steps: 12.5 * perUm }]);
    const inv = await started({ invert: true });
    await inv.stage.moveTo(-12.5);
    await inv.stage.moveTo(0);
    expect(segments(inv.lib.steps(18, 23))).toEqual([
      { dir: 1, steps: 400 },
      { dir: 0, steps: 400 },
    ]);
  });

  it("cancellation decelerates, rejects with CanceledError, and reports the pulses actually sent", async () => {
    const { clock, lib, stage } = await started();
    const ac = new AbortController();
    const move = stage.moveTo(1000, ac.signal);
    await runUntil(clock, 1500);
    ac.abort();
    await expect(move).rejects.toBeInstanceOf(CanceledError);
    const steps = lib.steps(18, 23);
    expect(steps.length).toBeLessThan(1000 * perUm);
    expect(steps.length).toBeGreaterThan(200 * perUm);
    expect(stage.positionUm() * perUm).toBe(steps.length);
    const end = lib.transmissions.at(-1)!.endMs * 1000;
    const times = [...steps.map((s) => s.atUs), end];
    expectWithinLimits(times, rampLimits(options));
    // the last waves brake: the final step is far slower than cruise
    expect(times.at(-1)! - times.at(-2)!).toBeGreaterThan(5 * 157);
    expect(lib.violations).toEqual([]);
  });

  it("halt() stops queuing; the count stays exact", async () => {
    const { clock, lib, stage } = await started();
    const move = stage.moveTo(500);
    await runUntil(clock, 600);
    await stage.halt();
    await move;
    expect(stage.positionUm() * perUm).toBe(lib.steps(18, 23).length);
    expect(stage.positionUm()).toBeLessThan(500);
  });

  it("FocusStage over it approaches from below: a downward move overshoots by backlashUm then comes up", async () => {
    const { lib, stage } = await started();
    const focus = new FocusStage(stage, { minUm: -500, maxUm: 500, backlashUm: 10 });
    await focus.moveTo(100);
    await focus.moveTo(50);
    await focus.moveTo(60);
    expect(segments(lib.steps(18, 23))).toEqual([
      { dir: 1, steps: 100 * perUm },
      { dir: 0, steps: 60 * perUm },
      { dir: 1, steps: 20 * perUm },
    ]);
    expect(focus.positionUm()).toBe(60);
  });

  it("a waypoint move resolves without the settle time", async () => {
    const { clock, stage } = await started();
    let t0 = clock.nowMs();
    await stage.moveTo(50);
    const settledMs = clock.nowMs() - t0;
    t0 = clock.nowMs();
    await stage.moveTo(100, undefined, { waypointToUm: 110 });
    expect(settledMs - (clock.nowMs() - t0)).toBeCloseTo(20, 0);
  });

  it("the position survives a restart, and so does set zero", async () => {
    const first = await started();
    await first.stage.moveTo(37.25);
    await first.stage.stop();
    const second = await started({}, first.stateDir);
    expect(second.stage.positionUm()).toBe(37.25);
    await second.stage.moveTo(30);
    expect(segments(second.lib.steps(18, 23))).toEqual([{ dir: 0, steps: 7.25 * perUm }]);
    await second.stage.setPositionUm(0);
    await second.stage.stop();
    const third = await started({}, first.stateDir);
    expect(third.stage.positionUm()).toBe(0);
  });

  it("without the pigpio package, start() fails with one DeviceError line naming what to install; nothing moves", async () => {
    const stage = new PigpioStage(options, { stateDir: await tempStateDir(), clock: new VirtualClock() });
    const err = await stage.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(/"pigpio" package is not installed.*npm install pigpio/);
    await expect(stage.moveTo(10)).rejects.toThrow(/not started/);
  });

  it("a pigpio that cannot initialise (not root, pigpiod running) is one DeviceError line", async () => {
    const clock = new VirtualClock();
    const lib = new FakePigpio(clock);
    lib.initialize = () => {
      throw new Error("pigpio error -1 in gpioInitialise");
    };
    const stage = new PigpioStage(options, { stateDir: await tempStateDir(), clock, lib });
    await expect(stage.start()).rejects.toThrow(/^stage: pigpio could not start \(pigpio error -1 in gpioInitialise\); run focusbox as root/);
  });

  it("refuses pins pigpio waveforms cannot drive and speeds too fast for the pulse width", () => {
    const deps = { stateDir: "/nonexistent" };
    expect(() => new PigpioStage({ ...options, stepPin: 0 }, deps)).toThrow(/BCM GPIOs 1–27/);
    expect(() => new PigpioStage({ ...options, dirPin: 18 }, deps)).toThrow(/distinct/);
    expect(() => new PigpioStage({ ...options, maxSpeedUmPerS: 20_000 }, deps)).toThrow(/too short/);
  });
});
