import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanceledError, DeviceError } from "../../src/errors.js";
import type { ButtonEvent } from "../../src/hardware/button/types.js";
import { SerialBridgeButton } from "../../src/hardware/button/serial-bridge.js";
import { SerialBridgeStage, type SerialBridgeOptions } from "../../src/hardware/stage/serial-bridge.js";
import { Harness, buildFirmware, sleep, until } from "./harness.js";

const STEPS_PER_UM = 8;

let harness: Harness;
let stage: SerialBridgeStage;
let button: SerialBridgeButton;
const presses: ButtonEvent[] = [];

async function netPulses(): Promise<number> {
  return (await harness.pulses()).reduce((sum, p) => sum + (p.dir ? 1 : -1), 0);
}

async function mcuPosition(): Promise<number> {
  return Number(await stage.bridge.command("p"));
}

beforeAll(async () => {
  buildFirmware();
  harness = new Harness();
  const options: SerialBridgeOptions = { path: await harness.ptyPath, stepsPerUm: STEPS_PER_UM, maxSpeedUmPerS: 1000, accelUmPerS2: 25_000, moveTimeoutMs: 2000 };
  stage = new SerialBridgeStage(options);
  button = new SerialBridgeButton({ path: options.path });
  button.onPress((event) => presses.push(event));
  await stage.start();
  await button.start();
});

afterAll(async () => {
  await button?.stop();
  await stage?.stop();
  await harness?.close();
});

describe("serial-bridge host backends against the simulated MCU", () => {
  it("shares one connection between stage and button", () => {
    expect(button.bridge).toBe(stage.bridge);
    expect(stage.info).toEqual({ kind: "serial-bridge", resolutionUm: 1 / STEPS_PER_UM });
  });

  it("moveTo in µm maps to the right step count and direction", async () => {
    await harness.clearPulses();
    await stage.moveTo(12.5);
    expect(await netPulses()).toBe(100);
    expect(stage.positionUm()).toBe(12.5);
    await stage.moveTo(-3.0625); // rounds to -24.5 → -24 or -25 steps: nearest representable
    expect(await mcuPosition()).toBe(Math.round(-3.0625 * STEPS_PER_UM));
    expect(await netPulses()).toBe(Math.round(-3.0625 * STEPS_PER_UM));
    const pulses = await harness.pulses();
    expect(pulses.slice(0, 100).every((p) => p.dir === 1)).toBe(true);
    expect(pulses.slice(100).every((p) => p.dir === 0)).toBe(true);
    await stage.setPositionUm(0);
    expect(stage.positionUm()).toBe(0);
    expect(await mcuPosition()).toBe(0);
  });

  it("inverted direction: +z drives DIR low", async () => {
    const inverted = new SerialBridgeStage({ ...stage.options, invert: true }, stage.bridge);
    await inverted.start();
    await harness.clearPulses();
    await inverted.moveTo(2);
    const pulses = await harness.pulses();
    expect(pulses).toHaveLength(16);
    expect(pulses.every((p) => p.dir === 0)).toBe(true);
    expect(inverted.positionUm()).toBe(2);
    await inverted.moveTo(0);
    await inverted.stop();
  });

  it("detects an MCU reset by its banner and resynchronises the position", async () => {
    await stage.moveTo(10);
    const boots = stage.bridge.boots;
    await harness.command("reset");
    await until(() => stage.bridge.boots > boots, 3000, "the reset banner");
    await harness.clearPulses();
    await stage.moveTo(15); // the MCU restarted at 0, the host put 80 steps back first
    expect(await netPulses()).toBe(5 * STEPS_PER_UM);
    expect(await mcuPosition()).toBe(15 * STEPS_PER_UM);
    expect(await stage.bridge.command("speed?")).toBe(String(1000 * STEPS_PER_UM));
  });

  it("a reset during a move fails that move with DeviceError, then the stage works again", async () => {
    const moving = stage.moveTo(400); // ~0.45 s
    await sleep(150);
    await harness.command("reset");
    await expect(moving).rejects.toBeInstanceOf(DeviceError);
    expect(stage.positionUm()).toBe(15);
    await harness.clearPulses();
    await stage.moveTo(16);
    expect(await netPulses()).toBe(STEPS_PER_UM);
  });

  it("an aborted move stops (decelerating) and reports where it stopped", async () => {
    await harness.clearPulses();
    const controller = new AbortController();
    const moving = stage.moveTo(500, controller.signal);
    await sleep(150);
    controller.abort();
    await expect(moving).rejects.toBeInstanceOf(CanceledError);
    const pulses = await netPulses();
    expect(pulses).toBeGreaterThan(0);
    expect(pulses).toBeLessThan((500 - 16) * STEPS_PER_UM);
    expect(stage.positionUm() * STEPS_PER_UM).toBe(16 * STEPS_PER_UM + pulses);
    expect(await mcuPosition()).toBe(16 * STEPS_PER_UM + pulses);
  });

  it("halt() stops a running move and never throws", async () => {
    const moving = stage.moveTo(stage.positionUm() + 300);
    await sleep(100);
    await stage.halt();
    await expect(moving).rejects.toBeInstanceOf(CanceledError);
    expect(await stage.bridge.command("moving?")).toBe("0");
    expect(stage.positionUm() * STEPS_PER_UM).toBe(await mcuPosition());
    await stage.halt();
  });

  it("a bouncing button press reaches the host as exactly one event", async () => {
    presses.length = 0;
    await harness.command("button 150 8");
    await until(() => presses.length > 0, 2000, "the button event");
    await sleep(300);
    expect(presses).toHaveLength(1);
    expect(presses[0].kind).toBe("short");
    expect(presses[0].durationMs).toBeGreaterThanOrEqual(140);
    expect(presses[0].durationMs).toBeLessThanOrEqual(170);
    await harness.command("button 1100 5");
    await until(() => presses.length > 1, 3000, "the long press");
    await sleep(200);
    expect(presses).toHaveLength(2);
    expect(presses[1].kind).toBe("long");
  });
});
