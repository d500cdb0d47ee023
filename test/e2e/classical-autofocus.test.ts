import { afterEach, describe, expect, it } from "vitest";
import { FocusNotFoundError } from "../../src/errors.js";
import type { Station } from "../../src/station/station.js";
import { simulatedStation } from "../helpers.js";

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

/** Physical defocus after the run: where the focus carriage really is vs the sample's focal plane. */
function defocusUm(s: Station): number {
  return s.devices.microscope!.defocusUm();
}

describe("classical autofocus on the simulated microscope (10×, NA 0.3)", () => {
  it.each(["tissue", "nuclei", "cells", "beads"] as const)("Brent + Tenengrad ends within 1 µm of focus on %s from starts within ±50 µm", async (sample) => {
    station = await simulatedStation({ microscope: { sample, seed: 7 } });
    for (const startUm of [-50, -20, 5, 35, 50]) {
      await station.move(startUm);
      const result = await station.autofocus({ metric: "tenengrad", strategy: "brent" });
      expect(Math.abs(defocusUm(station)), `${sample} from ${startUm} µm → ${result.finalUm.toFixed(2)} µm`).toBeLessThanOrEqual(1);
      expect(result.images).toBeLessThanOrEqual(station.config.autofocus.maxImages);
      expect(result.trace.every((p) => Number.isFinite(p.score) && p.tiles.length === 9)).toBe(true);
    }
  });

  it("sweep-and-fit also finds focus", async () => {
    station = await simulatedStation({ microscope: { sample: "tissue", focusUm: 12 } });
    await station.move(-30);
    await station.autofocus({ metric: "tenengrad", strategy: "sweep" });
    expect(Math.abs(defocusUm(station))).toBeLessThanOrEqual(1);
  });

  it("fails with FocusNotFoundError on the empty slide and returns the stage to its start", async () => {
    station = await simulatedStation({ microscope: { sample: "empty" } });
    await station.move(17);
    await expect(station.autofocus({ metric: "tenengrad" })).rejects.toBeInstanceOf(FocusNotFoundError);
    expect(station.status().positionUm).toBe(17);
    expect(station.status().state).toBe("error");
    expect(station.status().lastError).toMatch(/featureless/);
  });

  // The upper limit: final approaches come from below there, so the drive's slack does not blur the test.
  it("finds focus just inside a stage limit, where the coarse sweep's sharpest image is its last; refuses focus beyond the limit", async () => {
    station = await simulatedStation({ microscope: { sample: "tissue", focusUm: -3 }, stage: { minUm: -300, maxUm: 0 } });
    await station.move(-40);
    await station.autofocus({ metric: "tenengrad", strategy: "brent" });
    expect(Math.abs(defocusUm(station))).toBeLessThanOrEqual(1);
    await station.stop();
    station = await simulatedStation({ microscope: { sample: "tissue", focusUm: 6 }, stage: { minUm: -300, maxUm: 0 } });
    await station.move(-40);
    await expect(station.autofocus({ metric: "tenengrad", strategy: "brent" })).rejects.toThrow(/maximum lies at the edge of the search range \(0\.0 µm\)/);
    expect(station.status().positionUm).toBe(-40);
  });

  it("cancellation mid-run leaves the station idle and the stage consistent", async () => {
    station = await simulatedStation();
    const s = station;
    let images = 0;
    const off = s.events.on("image", () => {
      if (++images === 4) void s.cancel();
    });
    await expect(s.autofocus()).rejects.toThrow(/cancel/);
    off();
    expect(s.status()).toMatchObject({ state: "idle", operation: null });
    const here = s.status().positionUm;
    expect(Number.isFinite(here)).toBe(true);
    await s.move(here + 1);
    expect(s.status().positionUm).toBeCloseTo(here + 1, 6);
  });
});

describe("backlash compensation", () => {
  it("matters: without it the drive's slack becomes a focus error, with it the error is gone", async () => {
    const errors: Record<string, number> = {};
    for (const backlashUm of [0, 10]) {
      station = await simulatedStation({ stage: { backlashUm, backend: { kind: "simulated", slackUm: 3 } } });
      await station.move(40);
      await station.move(0);
      errors[backlashUm] = defocusUm(station);
      await station.stop();
      station = undefined;
    }
    expect(Math.abs(errors[0])).toBeGreaterThan(2.5);
    expect(Math.abs(errors[10])).toBeLessThan(0.3);
  });
});

describe("classical autofocus on sparse fields", () => {
  it("finds focus on a tissue field whose ROI is mostly a gap in the section", async () => {
    station = await simulatedStation({ microscope: { sample: "tissue", seed: 104, focusUm: -31.8 } });
    await station.autofocus({ metric: "tenengrad" });
    expect(Math.abs(defocusUm(station))).toBeLessThanOrEqual(1);
  });
});
