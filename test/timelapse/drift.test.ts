import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readGrayImage } from "../../src/image/codec.js";
import { jobFiles, syntheticDeepFocus, timelapseRig, type TimelapseRig } from "./rig.js";
import { TimelapseManager } from "../../src/timelapse/manager.js";

let rig: TimelapseRig | undefined;
afterEach(async () => {
  await rig?.manager.close();
  await rig?.station.stop();
  rig = undefined;
});

const POINTS = 200;
const INTERVAL_MS = 60_000;
const DRIFT_UM = 30;
const driftUmPerHour = DRIFT_UM / (((POINTS - 1) * INTERVAL_MS) / 3.6e6);

describe("timelapse with thermal drift (virtual clock)", () => {
  it(`tracks ${DRIFT_UM} µm of drift over ${POINTS} points within ±1 µm at every capture, ≤ 2.5 images per point`, async () => {
    rig = await timelapseRig({ microscope: { focusUm: 4, driftUmPerHour } });
    const errors: number[] = [];
    const { manager, microscope } = rig;
    manager.events.on("frame", () => errors.push(microscope.defocusUm()));
    const created = await manager.create({ intervalMs: INTERVAL_MS, count: POINTS, autofocus: { policy: "tracking" } });
    await manager.settled();

    const s = manager.status();
    expect(s).toMatchObject({ state: "finished", done: POINTS, missed: 0, nextIndex: POINTS });
    expect(errors).toHaveLength(POINTS);
    expect(Math.max(...errors.map(Math.abs))).toBeLessThanOrEqual(1);
    expect(s.imagesPerPoint!).toBeLessThanOrEqual(2.5);
    expect(s.focus.at(-1)!.focusUm - s.focus[0].focusUm).toBeCloseTo(DRIFT_UM, 0);

    const files = await jobFiles(manager, created.id!);
    expect(files.filter((f) => f.endsWith(".png"))).toHaveLength(POINTS);
    expect(files.some((f) => f.includes(".tmp"))).toBe(false);
    const focusLog = (await readFile(join(manager.dir, created.id!, "focus.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(focusLog.map((l) => l.index)).toEqual([...Array(POINTS).keys()]);
    const sidecar = JSON.parse(await readFile(join(manager.dir, created.id!, "t000199-p00.json"), "utf8"));
    expect(sidecar).toMatchObject({ index: 199, plane: 0, autofocus: { policy: "tracking" } });
    expect((await readGrayImage(join(manager.dir, created.id!, "t000199-p00.png"))).width).toBe(64);
  });

  it("captures z-offset planes around focus, 16-bit preserved, and returns to focus", async () => {
    rig = await timelapseRig({ camera: { kind: "simulated", width: 64, height: 48, bitDepth: 12 }, microscope: { focusUm: 2 } });
    const { manager, microscope } = rig;
    const created = await manager.create({ intervalMs: 5000, count: 3, autofocus: { policy: "deepfocus" }, capture: { zOffsetsUm: [-5, 0, 5] } });
    await manager.settled();
    const s = manager.status();
    expect(s).toMatchObject({ state: "finished", done: 3 });
    expect(s.latest!.files).toEqual(["t000002-p00.png", "t000002-p01.png", "t000002-p02.png"]);
    const [lo, mid, hi] = s.latest!.zUm;
    expect(mid - lo).toBeCloseTo(5, 6);
    expect(hi - mid).toBeCloseTo(5, 6);
    expect(Math.abs(microscope.defocusUm())).toBeLessThan(1);
    const frame = await readGrayImage(join(manager.dir, created.id!, "t000002-p01.png"));
    expect(frame.bitDepth).toBe(16);
  });

  it("a sample DeepFocus cannot confirm (reading 4× the calibration) is focused by Tenengrad's own peak, and the point's focus says it is unconfirmed", async () => {
    rig = await timelapseRig({ microscope: { focusUm: 7 } });
    await rig.manager.close();
    const manager = new TimelapseManager(rig.station, { deepfocus: syntheticDeepFocus(rig.microscope, 0.05, 4), nowMs: () => 1.7e12 + rig!.station.clock.nowMs() });
    await manager.start();
    rig.manager = manager;
    await rig.station.devices.stage.moveTo(27);
    const created = await manager.create({ intervalMs: 5000, count: 1, autofocus: { policy: "deepfocus", maxImages: 10 } });
    await manager.settled();
    expect(manager.status().focus).toEqual([expect.objectContaining({ index: 0, unconfirmed: true })]);
    // Within a quarter of the 10×/NA 0.3 depth of field (about 8 µm).
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(2);
    const focusLog = (await readFile(join(manager.dir, created.id!, "focus.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(focusLog[0]).toMatchObject({ index: 0, unconfirmed: true });
  });

  it("policy none captures where the stage is, without autofocus images", async () => {
    rig = await timelapseRig();
    await rig.manager.create({ intervalMs: 1000, count: 4, autofocus: { policy: "none" } });
    await rig.manager.settled();
    expect(rig.manager.status()).toMatchObject({ state: "finished", done: 4, imagesPerPoint: 0 });
  });

  it("rejects invalid requests naming the field", async () => {
    rig = await timelapseRig();
    await expect(rig.manager.create({ intervalMs: 1000 } as never)).rejects.toThrow(/count/);
    await expect(rig.manager.create({ intervalMs: 1000, count: 2, autofocus: { policy: "magic" } } as never)).rejects.toThrow(/autofocus.policy/);
  });
});
