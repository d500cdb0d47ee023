import { describe, expect, it } from "vitest";
import { DECISIVE_LOG_RATIO, deepfocusPoints, sharpnessLead, sharpnessPeakMatch, sharpnessPeakWidthUm } from "../../src/autofocus/cross-check.js";
import type { TracePoint } from "../../src/autofocus/types.js";

/** A Gaussian sharpness peak at z0 with width σ: ROI score and three tiles (the last one flat: empty). */
function point(zUm: number, z0Um: number, sigmaUm: number): TracePoint {
  const s = 1000 * Math.exp(-((zUm - z0Um) ** 2) / (2 * sigmaUm ** 2));
  return { zUm, score: 1, tiles: [1, 1, 1], timeMs: 0, sharpness: s, sharpnessTiles: [s, 2 * s, 50] };
}

describe("classical cross-check of a refinement triple", () => {
  it("lead: positive when the middle image is sharper, negative towards the sharper outer one, null without scores", () => {
    const [lo, mid, hi] = [8, 10, 12].map((z) => point(z, 10.5, 3));
    expect(sharpnessLead(lo, mid, hi)).toBeGreaterThan(DECISIVE_LOG_RATIO);
    const [a, b, c] = [14, 16, 18].map((z) => point(z, 10.5, 3));
    expect(sharpnessLead(a, b, c)).toBeLessThan(-DECISIVE_LOG_RATIO);
    expect(sharpnessLead({ ...lo, sharpness: undefined }, mid, hi)).toBeNull();
  });

  it("a Gaussian peak: vertex and width recovered from a triple off its centre; flat tiles stay out of the focus map", () => {
    const triple = [4, 7, 10].map((z) => point(z, 7.8, 2.5)) as [TracePoint, TracePoint, TracePoint];
    const m = sharpnessPeakMatch(...triple);
    expect(m.problem).toBeNull();
    expect(m.shiftUm).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[0]).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[1]).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[2]).toBeNull();
    expect(m.inlierTiles).toBe(2);
    expect(m.uncertaintyUm).toBeCloseTo(3 / 2, 9); // fewer than 3 tiles bracket: half the half-span
    expect(sharpnessPeakWidthUm(...triple)).toBeCloseTo(2.5, 9);
  });

  it("DeepFocus points decisively only where it is steep: monotonic, ≥ 10 % towards one side, every image well above the floor", () => {
    const at = (zUm: number, score: number): TracePoint => ({ zUm, score, tiles: [score], timeMs: 0 });
    const floorB = 3;
    expect(deepfocusPoints(at(-21, 40), at(-18, 35), at(-15.5, 28), floorB)?.zUm).toBe(-15.5);
    expect(deepfocusPoints(at(15, 28), at(18, 35), at(21, 40), floorB)?.zUm).toBe(15);
    expect(deepfocusPoints(at(15, 33), at(18, 35), at(21, 40), floorB)).toBeNull(); // 6 %: within its noise
    expect(deepfocusPoints(at(15, 28), at(18, 35), at(21, 33), floorB)).toBeNull(); // not monotonic: it brackets
    expect(deepfocusPoints(at(-2, 4), at(0, 5), at(2, 7), floorB)).toBeNull(); // near its floor
  });
});
