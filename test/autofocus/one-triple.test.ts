import { afterEach, describe, expect, it } from "vitest";
import { deepfocusAutofocus, searchImages, startRun } from "../../src/autofocus/deepfocus.js";
import { nextGoldenPoint } from "../../src/autofocus/bracket.js";
import type { TracePoint } from "../../src/autofocus/types.js";
import { parseConfig } from "../../src/config/load.js";
import { blurGrowthPx2PerUm2Of } from "../../src/focus/blur-match.js";
import { syntheticProfile } from "./synthetic.js";
import { simulatedRig, type Rig } from "./rig.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.devices.stop();
  rig = undefined;
});

const profile = syntheticProfile();
const FOCUS_UM = 7;
/** Frames large enough for blur matching's 64-px thumbnails to see the blur. */
const FRAME = { width: 256, height: 192 };
const { objective, camera } = parseConfig({ camera: { kind: "simulated" } });
const growth = blurGrowthPx2PerUm2Of(objective, camera.kind === "simulated" ? camera.pixelSizeUm : 0)!;

describe("the search ends after the paper's three images when blur matching puts focus somewhere", () => {
  it("7, 8 and 10 images from 90 µm out: no golden-section image after the first triple, which lies on one side of focus; without blur growth one comes fourth", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    const startUm = FOCUS_UM - 90;
    const searched = async (maxImages: number, blurGrowthPx2PerUm2: number | undefined) => {
      await rig!.devices.stage.moveTo(startUm);
      const run = startRun(rig!.ctx, profile, { maxImages, blurGrowthPx2PerUm2 });
      await searchImages(run, startUm);
      return run.trace;
    };
    for (const maxImages of [7, 8, 10]) {
      expect(await searched(maxImages, growth)).toHaveLength(3);
      const without = await searched(maxImages, undefined);
      expect(without).toHaveLength(4);
      const { minUm, maxUm } = rig.devices.stage.options;
      expect(without[3].zUm).toBeCloseTo(nextGoldenPoint(without.slice(0, 3), minUm, maxUm)!, 6);
      // That image overshoots focus (1.618× the spacing past the triple's nearest image): a walk back from it costs images.
      expect(without[3].zUm - FOCUS_UM).toBeGreaterThan(profile.fwhmUm / 16);
    }
  });

  it("7 images: the refinement starts where blur matching puts focus and spends the image its triple leaves on an even pair about the bracket's answer", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    const h = profile.fwhmUm / 8;
    for (const offsetUm of [-70, 55]) {
      await rig.devices.stage.moveTo(FOCUS_UM + offsetUm);
      const trace: TracePoint[] = [];
      const outcome = await deepfocusAutofocus({ ...rig.ctx, onImage: (p: TracePoint) => trace.push(p) }, profile, { maxImages: 7, blurGrowthPx2PerUm2: growth });
      const where = `from ${offsetUm}: images at ${trace.map((p) => p.zUm.toFixed(2))}`;
      expect(outcome.images, where).toBe(7);
      // The triple e − h, e, e + h about blur matching's focus e brackets focus.
      const [lo, mid, hi] = trace.slice(3, 6).map((p) => p.zUm);
      expect(hi - mid, where).toBeCloseTo(h, 6);
      expect(mid - lo, where).toBeCloseTo(h, 6);
      expect(Math.abs(mid - FOCUS_UM), where).toBeLessThan(h);
      // The last image mirrors one of the triple's outer images about a point near focus.
      const mirrored = [lo, hi].map((zUm) => Math.abs((zUm + trace[6].zUm) / 2 - FOCUS_UM));
      expect(Math.min(...mirrored), where).toBeLessThan(0.5);
      expect(Math.abs(rig.microscope.defocusUm()), where).toBeLessThan(0.3);
    }
  });
});
