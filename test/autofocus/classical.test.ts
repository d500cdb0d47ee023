import { describe, expect, it } from "vitest";
import { classicalAutofocus } from "../../src/autofocus/classical.js";
import { parseConfig } from "../../src/config/load.js";
import { FocusNotFoundError } from "../../src/errors.js";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import type { FocusScorer } from "../../src/focus/types.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import type { SimulatedMicroscope } from "../../src/hardware/simulated-microscope.js";
import { simulatedRig } from "./rig.js";

/**
 * A gradient-metric-like sharpness: a Gaussian peak (σ 8 µm, about a DOF at 10×/NA 0.3) at
 * `peakOffsetUm` from the simulator's focus on a baseline of 100, with deterministic noise
 * uniform in ±`noise`.
 */
function sharpness(defocusUm: (timestampMs: number) => number, peakOffsetUm: number, noise: number): FocusScorer {
  return {
    id: "tenengrad",
    higherIsSharper: true,
    async score(frame) {
      const d = defocusUm(frame.timestampMs) - peakOffsetUm;
      const jitter = noise * (2 * ((Math.abs(Math.sin(d * 12.9898) * 43758.5453) % 1) - 0.5));
      const s = 100 + 60 * Math.exp(-(d * d) / (2 * 8 * 8)) + jitter;
      return { score: s, tiles: [s] };
    },
  };
}

describe("classical autofocus at the end of its search range", () => {
  it("finds a peak 6 µm inside the range end, and refuses one beyond it instead of ending on the slope or noise beside the end", async () => {
    const options = { strategy: "brent" as const, rangeUm: 100, coarseStepUm: 10, toleranceUm: 0.25, maxImages: 30 };
    // The search range ends at +100 µm; in every case the coarse sweep's sharpest image is its last.
    for (const [peakUm, noise, found] of [
      [94, 2, true],
      [102, 1, false],
      [110, 2, false],
      [110, 4, false],
    ] as const) {
      const rig = await simulatedRig({ focusUm: 0 });
      try {
        const ctx = { ...rig.ctx, scorer: sharpness((t) => rig.microscope.exposureDefocusUm(t), peakUm, noise) };
        const run = classicalAutofocus(ctx, options);
        if (found) expect(Math.abs((await run).finalUm - peakUm)).toBeLessThan(1.5);
        else {
          await expect(run).rejects.toThrow(FocusNotFoundError);
          await expect(run).rejects.toThrow(/maximum lies at the edge of the search range \(100\.0 µm\)/);
          expect(rig.ctx.stage.positionUm()).toBe(0);
        }
      } finally {
        await rig.devices.stop();
      }
    }
  });
});

describe("classical autofocus with a budget too small for its coarse step", () => {
  it("halves a sweep that shows no peak while the budget has room, instead of refusing with images left", async () => {
    // Over ±150 µm at a 12-image budget the first sweep is 4 images 100 µm apart (−150, −50, 50,
    // 150): every one lies ≥ 45 µm from a peak at 5 µm, where the metric is flat.
    const options = { strategy: "brent" as const, rangeUm: 150, coarseStepUm: 10, toleranceUm: 0.25, maxImages: 12 };
    const rig = await simulatedRig({ focusUm: 0 });
    try {
      const ctx = { ...rig.ctx, scorer: sharpness((t) => rig.microscope.exposureDefocusUm(t), 5, 1) };
      const result = await classicalAutofocus(ctx, options);
      expect(result.trace.slice(0, 7).map((p) => p.zUm)).toEqual([-150, -50, 50, 150, -100, 0, 100]);
      expect(result.images).toBeLessThanOrEqual(12);
      expect(Math.abs(result.finalUm - 5)).toBeLessThan(1.5);
    } finally {
      await rig.devices.stop();
    }
  });

  it("still refuses a featureless field, within the budget, and returns to the start", async () => {
    const options = { strategy: "brent" as const, rangeUm: 150, coarseStepUm: 10, toleranceUm: 0.25, maxImages: 12 };
    const rig = await simulatedRig({ focusUm: 0 });
    try {
      const flat: FocusScorer = {
        id: "tenengrad",
        higherIsSharper: true,
        async score(frame) {
          const s = 100 + Math.sin(frame.timestampMs);
          return { score: s, tiles: [s] };
        },
      };
      const run = classicalAutofocus({ ...rig.ctx, scorer: flat }, options);
      await expect(run).rejects.toThrow(/no focus peak/);
      expect(rig.ctx.stage.positionUm()).toBe(0);
    } finally {
      await rig.devices.stop();
    }
  });
});

describe("classical autofocus with a search range narrower than its coarse step", () => {
  it("one image cannot show a peak: FocusNotFoundError, the stage back at the start", async () => {
    const rig = await simulatedRig({ focusUm: 0 });
    try {
      const ctx = { ...rig.ctx, scorer: sharpness((t) => rig.microscope.exposureDefocusUm(t), 0, 0) };
      const run = classicalAutofocus(ctx, { strategy: "brent", rangeUm: 2, coarseStepUm: 10, toleranceUm: 0.25, maxImages: 12 });
      await expect(run).rejects.toThrow(FocusNotFoundError);
      expect(rig.ctx.stage.positionUm()).toBe(0);
    } finally {
      await rig.devices.stop();
    }
  });
});

describe("classical autofocus under a flickering lamp", () => {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  it("Tenengrad finds focus as well with 5 % RMS flicker as with a steady lamp (frames read relative to their brightness)", async () => {
    const errorUm = async (flickerRms: number, seed: number): Promise<number> => {
      const config = parseConfig({ clock: "virtual", camera: { kind: "simulated", width: 128, height: 96 }, microscope: { focusUm: 7, flickerRms, seed } });
      const clock = new VirtualClock();
      const devices = await createDevices(config, clock);
      await devices.start();
      try {
        const scope = devices.microscope as SimulatedMicroscope;
        if (flickerRms > 0) {
          // The lamp does flicker: the means of frames taken at one place spread by several per cent.
          const means: number[] = [];
          for (let i = 0; i < 12; i++) means.push(mean(Array.from((await devices.camera.grab()).data)));
          expect(Math.sqrt(mean(means.map((m) => (m - mean(means)) ** 2))) / mean(means)).toBeGreaterThan(0.025);
        }
        const ctx = { camera: devices.camera, stage: devices.stage, scorer: createClassicalScorer("tenengrad"), roi: config.autofocus.roi, clock };
        const result = await classicalAutofocus(ctx, { strategy: "brent", rangeUm: 60, coarseStepUm: 10, toleranceUm: 0.25, maxImages: 30 });
        return result.finalUm - scope.trueFocusUm();
      } finally {
        await devices.stop();
      }
    };
    // Read raw (not relative to the frame's brightness), seed 3's flickering run ends 0.76 µm off: a 5 % flicker moves Tenengrad by 10 %.
    for (const seed of [3, 4]) {
      expect(Math.abs(await errorUm(0, seed)), `steady, seed ${seed}`).toBeLessThan(0.4);
      expect(Math.abs(await errorUm(0.05, seed)), `flickering, seed ${seed}`).toBeLessThan(0.4);
    }
  });
});
