import { afterEach, describe, expect, it } from "vitest";
import { finish, startRun, type DeepFocusRun } from "../../src/autofocus/deepfocus.js";
import { sharpnessValley, valleyRefusal } from "../../src/autofocus/phase-sample.js";
import type { TracePoint } from "../../src/autofocus/types.js";
import { curveFloor } from "../../src/focus/calibration-match.js";
import { simulatedRig, type Rig } from "./rig.js";
import { matchAt, syntheticProfile } from "./synthetic.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.devices.stop();
  rig = undefined;
});

const profile = syntheticProfile();

/** A run whose trace holds images at `points`: [z µm, DeepFocus score in units of the calibration floor (NaN: no valid tile), Tenengrad]. */
async function runWith(points: [number, number, number][]): Promise<DeepFocusRun> {
  rig = await simulatedRig({ focusUm: 0 });
  const run = startRun(rig.ctx, profile, { maxImages: 10 });
  const floor = curveFloor(run.curve);
  run.trace.push(...points.map(([zUm, b, sharpness]): TracePoint => ({ zUm, score: b * floor, tiles: [], sharpness, timeMs: 0 })));
  return run;
}

/** Tenengrad of a weak phase object focused at 0.37 µm, near focus: its contrast grows in proportion to defocus. */
const nearFocus = (zUm: number): number => 0.02 + 0.004 * (zUm - 0.37) ** 2;

describe("a sharpness valley near focus (an unstained sample in bright field)", () => {
  // Simulated 10×/NA 0.3, condenser at 0.3 of the NA (scripts/bench/phase-stacks.py): Tenengrad
  // peaks ±6 µm either side of focus, where DeepFocus reads about its floor; in focus it finds no valid tile.
  const peaks: [number, number, number][] = [
    [-40, 3.6, 0.029],
    [-5.8, 1.03, 0.126],
    [7.3, 1.1, 0.15],
    [40, 4.2, 0.034],
  ];

  it("is found between two images DeepFocus reads in focus that Tenengrad rates over 1.5× as sharp; the refusal says what it means", async () => {
    const run = await runWith([...peaks, [0.4, Number.NaN, 0.02]]);
    const valley = sharpnessValley(run);
    expect(valley).toMatchObject({ valley: { zUm: 0.4 }, lo: { zUm: -5.8 }, hi: { zUm: 7.3 } });
    const refusal = valleyRefusal(run, valley!);
    expect(refusal.reason).toBe("out-of-range");
    expect(refusal.message).toMatch(/unstained \(phase\) sample in bright field.*focus then lies near z=0\.4 µm/);
  });

  it("an answer anywhere goes to the valley's vertex instead, marked as Tenengrad's and unconfirmed, when an image within FWHM/8 on each side pins it; else the run refuses", async () => {
    for (const answerUm of [-5.8, 7.3, 30]) {
      const run = await runWith([...peaks, ...[-2.5, 0.9, 3.1].map((zUm): [number, number, number] => [zUm, 1, nearFocus(zUm)])]);
      const result = await finish(run, matchAt(answerUm), "deepfocus");
      // The vertex of the three images near focus, to within the stage's step (0.25 µm).
      expect(Math.abs(result.finalUm - 0.37)).toBeLessThanOrEqual(0.125);
      expect(result.fallback).toMatchObject({ metric: "tenengrad", confirmed: false, reason: expect.stringMatching(/unstained \(phase\) sample/) });
      expect(result.uncertaintyUm).toBeCloseTo(1.7, 6);
    }
    // The only image below the valley lies 20.9 µm from it, beyond FWHM/8 (15 µm).
    const unpinned = await runWith([[-20, 1.03, 0.126], [0.9, Number.NaN, nearFocus(0.9)], [3.1, 1, nearFocus(3.1)], [7.3, 1.1, 0.15]]);
    expect(sharpnessValley(unpinned)).not.toBeNull();
    await expect(finish(unpinned, matchAt(7.3), "deepfocus")).rejects.toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/do not pin the valley's bottom/) });
  });

  it("is not found on an absorbing sample's single peak, between two layers (the image between them reads blurred), nor where a flank lies beyond FWHM/4, is read far from focus, or leads by less than 1.5×", async () => {
    expect(sharpnessValley(await runWith([[-10, 1.6, 0.05], [-3, 1.05, 0.12], [0, 1, 0.2], [4, 1.1, 0.1], [12, 1.9, 0.04]]))).toBeNull();
    expect(sharpnessValley(await runWith([[0, 1.05, 1.21], [10, 2.4, 0.73], [19, 1.05, 1.29]]))).toBeNull();
    const quarter = profile.fwhmUm / 4;
    expect(sharpnessValley(await runWith([[-quarter - 1, 1.05, 0.126], [0.4, Number.NaN, 0.02], [7.3, 1.1, 0.15]]))).toBeNull();
    expect(sharpnessValley(await runWith([[-5.8, 2.5, 0.126], [0.4, Number.NaN, 0.02], [7.3, 1.1, 0.15]]))).toBeNull();
    expect(sharpnessValley(await runWith([[-5.8, 1.05, 0.126], [0.4, Number.NaN, 0.09], [7.3, 1.1, 0.15]]))).toBeNull();
  });
});
