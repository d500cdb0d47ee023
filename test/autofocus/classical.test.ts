import { describe, expect, it } from "vitest";
import { classicalAutofocus } from "../../src/autofocus/classical.js";
import { FocusNotFoundError } from "../../src/errors.js";
import type { FocusScorer } from "../../src/focus/types.js";
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
