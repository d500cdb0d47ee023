import { describe, expect, it } from "vitest";
import { DECISIVE_LOG_RATIO, deepfocusPoints, PEAK_OVER_PEDESTAL, PEDESTAL_FRACTION, sharpnessLead, sharpnessPeakMatch, sharpnessPeakWidthUm, sharpnessPedestal } from "../../src/autofocus/cross-check.js";
import type { TracePoint } from "../../src/autofocus/types.js";

/** A Gaussian sharpness peak at z0 with width σ on a pedestal: ROI score and three tiles (the last one flat: empty). */
function point(zUm: number, z0Um: number, sigmaUm: number, pedestal = 0): TracePoint {
  const s = 1000 * Math.exp(-((zUm - z0Um) ** 2) / (2 * sigmaUm ** 2));
  return { zUm, score: 1, tiles: [1, 1, 1], timeMs: 0, sharpness: pedestal + s, sharpnessTiles: [pedestal + s, 2 * (pedestal + s), 50] };
}

const NONE = { roi: 0, tiles: [] };

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
    const m = sharpnessPeakMatch(...triple, NONE);
    expect(m.problem).toBeNull();
    expect(m.shiftUm).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[0]).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[1]).toBeCloseTo(7.8, 9);
    expect(m.tileShiftsUm[2]).toBeNull();
    expect(m.inlierTiles).toBe(2);
    expect(m.uncertaintyUm).toBeCloseTo(3 / 2, 9); // fewer than 3 tiles bracket: half the half-span
    expect(sharpnessPeakWidthUm(...triple, NONE)).toBeCloseTo(2.5, 9);
  });

  it("a narrow peak on a pedestal (a low-contrast sample): above the pedestal its vertex and width are recovered; on the raw scores it reads twice as wide and its vertex leans to the middle image", () => {
    const triple = [-2, 0.8, 3.6].map((z) => point(z, 0, 0.65, 600)) as [TracePoint, TracePoint, TracePoint];
    const pedestal = { roi: 600, tiles: [600, 1200, 0] };
    const m = sharpnessPeakMatch(...triple, pedestal);
    expect(m.shiftUm).toBeCloseTo(0, 6);
    expect(m.tileShiftsUm[1]).toBeCloseTo(0, 6);
    expect(sharpnessPeakWidthUm(...triple, pedestal)).toBeCloseTo(0.65, 6);
    expect(sharpnessPeakWidthUm(...triple, NONE)).toBeGreaterThan(2 * 0.65);
    expect(sharpnessPeakMatch(...triple, NONE).shiftUm).toBeGreaterThan(0.4);
  });

  it("lead on a low-contrast peak: taken above the pedestal, where the raw scores hide it; far out, where the scores differ by noise, on the raw scores", () => {
    const at = (zUm: number, sharpness: number): TracePoint => ({ zUm, score: 1, tiles: [1], timeMs: 0, sharpness });
    const pedestal = 60;
    // On the peak (the sharpest image over 2× the pedestal): 8 % raw, 14 % above the pedestal.
    const [lo, mid, hi] = [at(-1.2, 155), at(0, 168), at(1.2, 103)];
    expect(Math.log(168 / 155)).toBeLessThan(DECISIVE_LOG_RATIO);
    expect(sharpnessLead(lo, mid, hi, pedestal)).toBeCloseTo(Math.log(108 / 95), 9);
    expect(sharpnessLead(lo, mid, hi, pedestal)!).toBeGreaterThan(DECISIVE_LOG_RATIO);
    // Far out (every image under PEAK_OVER_PEDESTAL × the pedestal): a 3 % raw difference stays 3 % (above the pedestal it would read 29 %).
    const far = [at(20, 66), at(24, 68), at(28, 66)] as const;
    expect(Math.max(...far.map((p) => p.sharpness!))).toBeLessThan(PEAK_OVER_PEDESTAL * pedestal);
    expect(sharpnessLead(...far, pedestal)).toBeCloseTo(Math.log(68 / 66), 9);
  });

  it("the pedestal: a fraction of the run's lowest positive score, for the ROI and per tile", () => {
    const trace = [12, 8, -2, 0.8].map((z) => point(z, 0, 0.65, 600));
    const p = sharpnessPedestal([...trace, { ...trace[0], sharpness: undefined, sharpnessTiles: undefined }]);
    const lowest = Math.min(...trace.map((q) => q.sharpness!));
    expect(p.roi).toBeCloseTo(PEDESTAL_FRACTION * lowest, 9);
    expect(p.tiles).toEqual([PEDESTAL_FRACTION * lowest, PEDESTAL_FRACTION * 2 * lowest, PEDESTAL_FRACTION * 50]);
    expect(sharpnessPedestal([{ zUm: 0, score: 1, tiles: [1], timeMs: 0 }])).toEqual({ roi: 0, tiles: [] });
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
