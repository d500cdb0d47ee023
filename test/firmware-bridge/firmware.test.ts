import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SerialBridge } from "../../src/hardware/serial-bridge/bridge.js";
import { moveDurationS } from "../../src/hardware/serial-bridge/protocol.js";
import { F_CPU, Harness, type Pulse, buildFirmware, until } from "./harness.js";

const SPEED = 10_000; // steps/s
const ACCEL = 200_000; // steps/s²
const JITTER_S = 8e-6; // step ISR latency behind other interrupts (tick, UART)

let harness: Harness;
let bridge: SerialBridge;
const ends: { steps: number; stopped: boolean }[] = [];
const boots: string[] = [];

beforeAll(async () => {
  buildFirmware();
  harness = new Harness();
  bridge = new SerialBridge(await harness.ptyPath);
  bridge.on("end", (steps, stopped) => ends.push({ steps, stopped }));
  bridge.on("boot", (banner) => boots.push(banner));
  await bridge.acquire();
  await bridge.command(`speed ${SPEED}`);
  await bridge.command(`accel ${ACCEL}`);
});

afterAll(async () => {
  await bridge?.release();
  await harness?.close();
});

/** Sends a move and waits for its end event. */
async function move(cmd: string): Promise<{ steps: number; stopped: boolean }> {
  const before = ends.length;
  await bridge.command(cmd);
  await until(() => ends.length > before, 10_000, `end of "${cmd}"`);
  return ends[ends.length - 1];
}

const seconds = (pulses: Pulse[]) => pulses.map((p) => p.t / F_CPU);

/** Acceleration between consecutive windows of `w` intervals (steps/s²). */
function windowAccelerations(t: number[], w = 20): number[] {
  const out: number[] = [];
  for (let i = 0; i + 2 * w < t.length; i += w) {
    const v1 = w / (t[i + w] - t[i]);
    const v2 = w / (t[i + 2 * w] - t[i + w]);
    out.push((v2 - v1) / ((t[i + 2 * w] - t[i]) / 2));
  }
  return out;
}

/** Earliest time a rest-to-speed ramp can cover k steps. */
const fastestS = (k: number) => (k <= (SPEED * SPEED) / (2 * ACCEL) ? Math.sqrt((2 * k) / ACCEL) : SPEED / (2 * ACCEL) + k / SPEED);

function expectProfileWithinLimits(t: number[]): void {
  const intervals = t.slice(1).map((x, i) => x - t[i]);
  expect(Math.min(...intervals)).toBeGreaterThanOrEqual(1 / SPEED - JITTER_S);
  for (let i = 0; i + 20 < t.length; i++) expect(20 / (t[i + 20] - t[i])).toBeLessThanOrEqual(SPEED * 1.005);
  const accels = windowAccelerations(t);
  expect(Math.max(...accels.map(Math.abs))).toBeLessThanOrEqual(ACCEL * 1.15);
  // position vs. time never ahead of the fastest allowed ramp, from the start or to the end
  const last = t.length - 1;
  for (let k = 1; k <= last; k++) {
    expect(t[k] - t[0]).toBeGreaterThanOrEqual(fastestS(k) - JITTER_S);
    expect(t[last] - t[last - k]).toBeGreaterThanOrEqual(fastestS(k) - JITTER_S);
  }
}

describe("bridge firmware in simavr", () => {
  it("answers version and starts at position 0", async () => {
    expect(await bridge.command("version")).toMatch(/^focusbox-bridge \d+\.\d+\.\d+ proto 1$/);
    expect(await bridge.command("p")).toBe("0");
  });

  it("a move of N steps gives exactly N STEP pulses with the right DIR, within speed and acceleration", async () => {
    await harness.clearPulses();
    expect(await move("mr 1500")).toEqual({ steps: 1500, stopped: false });
    let pulses = await harness.pulses();
    expect(pulses).toHaveLength(1500);
    expect(pulses.every((p) => p.dir === 1 && p.en === 1)).toBe(true);
    expect(Math.min(...pulses.map((p) => p.w))).toBeGreaterThanOrEqual(2e-6 * F_CPU); // ≥ 2 µs high
    expect(pulses[0].ds).toBeGreaterThanOrEqual(1e-6 * F_CPU); // DIR settled ≥ 1 µs before STEP
    const t = seconds(pulses);
    expectProfileWithinLimits(t);
    // the ramp is really used: full speed reached, and the move takes the trapezoid's time
    expect(Math.max(...windowAccelerations(t))).toBeGreaterThan(ACCEL * 0.8);
    expect(t[t.length - 1] - t[0]).toBeCloseTo(moveDurationS(1499, SPEED, ACCEL), 2);

    await harness.clearPulses();
    expect(await move("ma -200")).toEqual({ steps: -200, stopped: false });
    pulses = await harness.pulses();
    expect(pulses).toHaveLength(1700);
    expect(pulses.every((p) => p.dir === 0)).toBe(true);
    expectProfileWithinLimits(seconds(pulses));
    expect(await bridge.command("p")).toBe("-200");
  });

  it("a triangular (short) move stays within the acceleration", async () => {
    await harness.clearPulses();
    await move("mr 120");
    const pulses = await harness.pulses();
    expect(pulses).toHaveLength(120);
    expectProfileWithinLimits(seconds(pulses));
  });

  it("stop mid-move decelerates, and the reported position equals the pulses counted", async () => {
    const start = Number(await bridge.command("p"));
    await harness.clearPulses();
    const before = ends.length;
    await bridge.command("mr 20000");
    await until(async () => (await harness.pulses()).length > 1000, 5000, "the move to get going");
    expect(await bridge.command("moving?")).toBe("1");
    await bridge.command("stop");
    await until(() => ends.length > before, 5000, "the stopped event");
    const end = ends[ends.length - 1];
    expect(end.stopped).toBe(true);
    const pulses = await harness.pulses();
    expect(pulses.length).toBeLessThan(20000);
    expect(end.steps - start).toBe(pulses.length);
    expect(Number(await bridge.command("p"))).toBe(start + pulses.length);
    expect(await bridge.command("moving?")).toBe("0");
    expectProfileWithinLimits(seconds(pulses));
  });

  it("answers malformed commands with an error line and keeps working", async () => {
    await expect(bridge.command("mr abc")).rejects.toThrow(/bad-argument/);
    await expect(bridge.command("frobnicate")).rejects.toThrow(/unknown-command/);
    await expect(bridge.command("mr")).rejects.toThrow(/bad-argument/);
    await expect(bridge.command("ma 1 2")).rejects.toThrow(/bad-argument/);
    await expect(bridge.command("ma 99999999999")).rejects.toThrow(/bad-argument/);
    await expect(bridge.command("speed 0")).rejects.toThrow(/range/);
    await expect(bridge.command(`x${"y".repeat(200)}`)).rejects.toThrow(/line-too-long/);
    await expect(bridge.command("\u0001\u00ff;;")).rejects.toThrow(/unknown-command/);
    const start = Number(await bridge.command("p"));
    await harness.clearPulses();
    await move("mr 10");
    expect((await harness.pulses()).length).toBe(10);
    expect(Number(await bridge.command("p"))).toBe(start + 10);
  });

  it("refuses a second move while moving, with an error (busy)", async () => {
    const before = ends.length;
    await bridge.command("mr 3000");
    await expect(bridge.command("mr 5")).rejects.toThrow(/busy/);
    await expect(bridge.command("setpos 0")).rejects.toThrow(/busy/);
    await until(() => ends.length > before, 5000, "end of the move");
  });

  it("keeps settings in EEPROM across a reset, and resets by watchdog when the main loop hangs", async () => {
    await bridge.command("speed 4321");
    await bridge.command("save");
    await bridge.command("speed 1000");
    const seen = boots.length; // the power-on banner may or may not have been read
    await harness.command("reset");
    await until(() => boots.length === seen + 1, 3000, "boot banner after reset");
    expect(boots[seen]).toMatch(/reset=external$/);
    expect(await bridge.command("speed?")).toBe("4321");
    expect(await bridge.command("p")).toBe("0");
    await bridge.command("wdt-test");
    await until(() => boots.length === seen + 2, 3000, "boot banner after the watchdog");
    expect(boots[seen + 1]).toMatch(/reset=watchdog$/);
    await bridge.command("defaults");
    expect(await bridge.command("speed?")).toBe("2000");
  });

  it("drives a ULN2003 with the half-step sequence in mode 1", async () => {
    await bridge.command("mode 1");
    await harness.clearPulses();
    await move("mr 9");
    const phases = (await harness.pulses()).map((p) => p.ph);
    expect(phases).toEqual([0x3, 0x2, 0x6, 0x4, 0xc, 0x8, 0x9, 0x1, 0x3]);
    await bridge.command("mode 0");
  });
});
