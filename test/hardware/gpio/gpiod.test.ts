import { describe, expect, it } from "vitest";
import { CanceledError, DeviceError } from "../../../src/errors.js";
import { VirtualClock } from "../../../src/hardware/clock.js";
import { GpiodStage, ULN2003_HALF_STEP, type GpiodStageOptions } from "../../../src/hardware/stage/gpiod.js";
import { rampLimits } from "../../../src/hardware/stage/step-plan.js";
import { fakeLibgpiod, fakeOnoff, PI5_CHIPS, pi5Sysfs, runUntil, tempStateDir, type LineWrite } from "./fakes.js";
import { expectWithinLimits } from "./ramp-checks.js";

const stepDir: GpiodStageOptions = {
  kind: "gpiod",
  library: "libgpiod",
  chip: "auto",
  driver: "step-dir",
  stepPin: 17,
  dirPin: 27,
  enablePin: 22,
  microsteps: 8,
  stepsPerUm: 0.5,
  invert: false,
  maxSpeedUmPerS: 200,
  accelUmPerS2: 1000,
  settleMs: 10,
};
const uln: GpiodStageOptions = {
  kind: "gpiod",
  library: "libgpiod",
  chip: "pinctrl-rp1",
  driver: "uln2003",
  coilPins: [5, 6, 13, 19],
  microsteps: 2,
  stepsPerUm: 1,
  invert: false,
  maxSpeedUmPerS: 300,
  accelUmPerS2: 2000,
  settleMs: 0,
};

async function libgpiodStage(options: GpiodStageOptions, stateDir?: string) {
  const clock = new VirtualClock();
  const fake = fakeLibgpiod(clock, PI5_CHIPS);
  const dir = stateDir ?? (await tempStateDir());
  const stage = new GpiodStage(options, { stateDir: dir, clock, lib: fake.module });
  await stage.start();
  await clock.sleep(1); // keeps the start-up writes apart from the first move's in time
  return { clock, fake, stage, stateDir: dir };
}

/** STEP rising edges with the DIR level at that moment, from the line writes. */
function stepEdges(writes: LineWrite[], step: number, dir: number): { atMs: number; dir: number }[] {
  let dirLevel = 0;
  let stepLevel = 0;
  const out: { atMs: number; dir: number }[] = [];
  for (const w of writes) {
    if (w.offset === dir) dirLevel = w.value;
    if (w.offset !== step) continue;
    if (w.value === 1 && stepLevel === 0) out.push({ atMs: w.atMs, dir: dirLevel });
    stepLevel = w.value;
  }
  return out;
}

/** IN1–IN4 levels after each instant at which coils were written. */
function coilStates(writes: LineWrite[], pins: number[]): string[] {
  const levels = [0, 0, 0, 0];
  const states: { atMs: number; state: string }[] = [];
  for (const w of writes) {
    const i = pins.indexOf(w.offset);
    if (i < 0) continue;
    levels[i] = w.value;
    const state = levels.join("");
    if (states.at(-1)?.atMs === w.atMs) states[states.length - 1].state = state;
    else states.push({ atMs: w.atMs, state });
  }
  return states.map((s) => s.state);
}

const half = (i: number) => ULN2003_HALF_STEP[((i % 8) + 8) % 8].join("");

describe("gpiod stage, step/dir (fake node-libgpiod, Raspberry Pi 5 chip layout)", () => {
  it("finds the RP1 chip by label, and a move of N µm gives N × stepsPerUm × microsteps STEP pulses within the ramp", async () => {
    const { clock, fake, stage } = await libgpiodStage(stepDir);
    expect(new Set(fake.requests.map((r) => r.chip))).toEqual(new Set(["gpiochip4"]));
    expect(fake.requests.map((r) => r.offset).sort()).toEqual([17, 22, 27]);
    await stage.moveTo(50);
    const endMs = clock.nowMs() - stepDir.settleMs;
    const edges = stepEdges(fake.writes, 17, 27);
    expect(edges.length).toBe(50 * 4);
    expect(edges.every((e) => e.dir === 1)).toBe(true);
    expectWithinLimits([...edges.map((e) => e.atMs * 1000), endMs * 1000], rampLimits(stepDir), { w: 4 });
    await stage.moveTo(20);
    const back = stepEdges(fake.writes, 17, 27).slice(200);
    expect(back.length).toBe(30 * 4);
    expect(back.every((e) => e.dir === 0)).toBe(true);
    expect(stage.positionUm()).toBe(20);
    await stage.stop();
    expect(fake.released.length).toBe(3);
  });

  it("line names resolve on the chip (Pi 5 RP1 names lines GPIOn)", async () => {
    const { fake, stage } = await libgpiodStage({ ...stepDir, stepPin: "GPIO12", dirPin: "GPIO16", enablePin: undefined, chip: "gpiochip4" });
    await stage.moveTo(1);
    expect(stepEdges(fake.writes, 12, 16).length).toBe(4);
  });

  it("cancellation brakes and the position equals the pulses emitted", async () => {
    const { clock, fake, stage } = await libgpiodStage(stepDir);
    const ac = new AbortController();
    const move = stage.moveTo(400, ac.signal);
    await runUntil(clock, 500);
    ac.abort();
    await expect(move).rejects.toBeInstanceOf(CanceledError);
    const endMs = clock.nowMs(); // no settling after a cancelled move
    const edges = stepEdges(fake.writes, 17, 27);
    expect(stage.positionUm() * 4).toBe(edges.length);
    expect(edges.length).toBeLessThan(400 * 4);
    // the step already due, then braking from 800 steps/s at 4000 steps/s²: 800² / (2·4000) steps
    expect(edges.filter((e) => e.atMs > 500).length).toBe(1 + 80);
    expectWithinLimits([...edges.map((e) => e.atMs * 1000), endMs * 1000], rampLimits(stepDir), { w: 4 });
  });

  it("an unknown chip is one DeviceError line listing the chips present", async () => {
    const clock = new VirtualClock();
    const fake = fakeLibgpiod(clock, PI5_CHIPS.slice(0, 4));
    const stage = new GpiodStage(stepDir, { stateDir: await tempStateDir(), clock, lib: fake.module });
    const err = await stage.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toMatch(/^stage: no GPIO chip for the 40-pin header among: gpiochip0 \(gpio-brcmstb@107d508500\), /);
    expect((err as Error).message).not.toContain("\n");
  });

  it("without node-libgpiod or onoff installed, start() names the package to install", async () => {
    for (const library of ["libgpiod", "onoff"] as const) {
      const stage = new GpiodStage({ ...stepDir, library }, { stateDir: await tempStateDir(), clock: new VirtualClock() });
      const err = await stage.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as Error).message).toMatch(library === "libgpiod" ? /"node-libgpiod" package is not installed.*npm install node-libgpiod/ : /"onoff" package is not installed.*npm install onoff/);
      expect((err as Error).message).not.toContain("\n");
    }
  });
});

describe("gpiod stage through onoff (sysfs numbering read from the chip's base)", () => {
  it("drives GPIO 17 of a Pi 5 as sysfs GPIO 588 (RP1 base 571)", async () => {
    const clock = new VirtualClock();
    const fake = fakeOnoff(clock);
    const stage = new GpiodStage({ ...stepDir, library: "onoff" }, { stateDir: await tempStateDir(), clock, lib: fake.module, sysfsRoot: await pi5Sysfs() });
    await stage.start();
    expect(fake.exported.map((e) => e.gpio).sort()).toEqual([571 + 17, 571 + 22, 571 + 27]);
    await stage.moveTo(-3);
    const stepWrites = fake.writes.filter((w) => w.gpio === 588 && w.value === 1);
    expect(stepWrites.length).toBe(12);
    expect(fake.writes.filter((w) => w.gpio === 598).at(-1)?.value).toBe(0);
    await stage.stop();
    expect(fake.unexported.sort()).toEqual([588, 593, 598]);
  });
});

describe("gpiod stage, ULN2003 + 28BYJ-48", () => {
  it("walks the half-step sequence forward and backward, de-energising when idle", async () => {
    const { clock, fake, stage } = await libgpiodStage(uln);
    await stage.moveTo(4); // 8 half steps
    const pins = uln.coilPins as number[];
    const up = coilStates(fake.writes, pins);
    // requested low, energised at phase 0, eight half steps, released
    expect(up).toEqual(["0000", ...Array.from({ length: 9 }, (_, i) => half(i)), "0000"]);
    await clock.sleep(1);
    fake.writes.length = 0;
    await stage.moveTo(2.5); // 3 half steps back from phase 0
    expect(coilStates(fake.writes, pins)).toEqual([half(0), half(-1), half(-2), half(-3), "0000"]);
    expect(stage.positionUm()).toBe(2.5);
  });

  it("full-step mode uses the two-coil phases", async () => {
    const { fake, stage } = await libgpiodStage({ ...uln, microsteps: 1 });
    await stage.moveTo(3);
    expect(coilStates(fake.writes, uln.coilPins as number[])).toEqual(["0000", "1100", "0110", "0011", "1001", "0000"]);
  });

  it("inverted direction runs the sequence the other way", async () => {
    const { fake, stage } = await libgpiodStage({ ...uln, invert: true });
    await stage.moveTo(1);
    expect(coilStates(fake.writes, uln.coilPins as number[])).toEqual(["0000", half(0), half(-1), half(-2), "0000"]);
  });

  it("the coil phase is persisted with the position, so a restarted stage continues the sequence", async () => {
    const first = await libgpiodStage(uln);
    await first.stage.moveTo(1.5); // phase 3
    await first.stage.stop();
    const second = await libgpiodStage(uln, first.stateDir);
    expect(second.stage.positionUm()).toBe(1.5);
    second.fake.writes.length = 0;
    await second.stage.moveTo(2.5); // two half steps on
    expect(coilStates(second.fake.writes, uln.coilPins as number[])).toEqual([half(3), half(4), half(5), "0000"]);
  });
});
