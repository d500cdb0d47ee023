import { afterEach, describe, expect, it } from "vitest";
import { trackFocus } from "../../src/autofocus/tracking.js";
import { simulatedRig, type Rig } from "./rig.js";
import { syntheticProfile } from "./synthetic.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.devices.stop();
  rig = undefined;
});

const profile = syntheticProfile();

describe("tracking mode", () => {
  it("corrects a small drift with 2 images", async () => {
    rig = await simulatedRig({ focusUm: 5 });
    for (const [lastFocusUm, offsetUm] of [[0, 20], [8.5, undefined], [5, 10]]) {
      const r = await trackFocus(rig.ctx, profile, lastFocusUm as number, { maxImages: 10, offsetUm });
      expect(r).toMatchObject({ mode: "tracking", images: 2 });
      expect(Math.abs(rig.microscope.defocusUm()), `last focus ${lastFocusUm}`).toBeLessThan(0.3);
    }
  });

  it("falls back to the full search when the drift is large, reusing the two images", async () => {
    rig = await simulatedRig({ focusUm: -45 });
    const r = await trackFocus(rig.ctx, profile, 40, { maxImages: 10, offsetUm: 20, maxDriftUm: 15 });
    expect(r.mode).toBe("search");
    expect(r.images).toBeGreaterThanOrEqual(5);
    expect(r.trace.slice(0, 2).map((p) => p.zUm)).toEqual([20, 60]);
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(0.3);
  });
});
