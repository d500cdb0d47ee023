import { describe, expect, it } from "vitest";
import { curveAt, matchField, matchShift, pairShift, validTileScores, type CalibrationCurve } from "../../src/focus/calibration-match.js";
import { Rng } from "../../src/optics/rng.js";
import { syntheticB } from "../autofocus/synthetic.js";

/** The synthetic DeepFocus curve sampled every 2 µm over ±160 µm, focus at 0. */
const zGrid = Array.from({ length: 161 }, (_, i) => -160 + 2 * i);
const curve: CalibrationCurve = { zUm: zGrid, b: zGrid.map(syntheticB) };

describe("curveAt", () => {
  it("interpolates linearly and is NaN outside the sampled domain", () => {
    expect(curveAt({ zUm: [0, 2, 4], b: [1, 3, 4] }, 1)).toBeCloseTo(2, 12);
    expect(curveAt({ zUm: [0, 2, 4], b: [1, 3, 4] }, 4)).toBe(4);
    expect(curveAt(curve, 161)).toBeNaN();
  });
});

describe("matchShift: Δz minimising Σ(b_i − b_calib(z_i − Δz))²", () => {
  it("recovers known shifts (sub-step, within the 2-µm curve's interpolation error) from three noise-free images", () => {
    for (const shiftUm of [-83.3, -23.7, 0, 0.37, 1.1, 55.5, 90]) {
      const zs = [-40, 0, 40];
      const m = matchShift(curve, zs, zs.map((z) => syntheticB(z - shiftUm)));
      expect(m.problem, `shift ${shiftUm}`).toBeNull();
      expect(Math.abs(m.shiftUm - shiftUm), `shift ${shiftUm}`).toBeLessThan(0.05);
    }
  });

  it("a calibration curve centred off its grid (a recorded stack's focus between planes): rounding at the search range's end does not pass for a match at its edge", () => {
    // 36.92 − (36.92 − 168.9795) exceeds 168.9795 in floating point: the first candidate shift
    // puts the highest image just outside the curve, which once made it the "best" (NaN cost).
    const zs = zGrid.map((z) => z + 8.9795);
    const shifted: CalibrationCurve = { zUm: zs, b: zs.map(syntheticB) };
    const zUm = [-0.33, -37.58, 36.92];
    const m = matchShift(shifted, zUm, zUm.map((z) => syntheticB(z + 20.33)));
    expect(m.problem).toBeNull();
    expect(m.shiftUm).toBeCloseTo(-20.33, 0);
  });

  it("with noise, the field aggregate of 9 tiles stays within 0.3 µm", () => {
    const rng = new Rng(5);
    const errors = [-70, -12.5, 3.3, 40, 88].map((shiftUm) => {
      const zs = [-40, 0, 40];
      const tiles = zs.map((z) => Array.from({ length: 9 }, () => syntheticB(z - shiftUm) + 0.05 * rng.normal()));
      const m = matchField(curve, zs, tiles);
      expect(m.problem).toBeNull();
      return Math.abs((m.shiftUm as number) - shiftUm);
    });
    expect(Math.max(...errors)).toBeLessThan(0.3);
  });

  it("says so instead of guessing when focus is beyond the capture range or the curve is flat there", () => {
    const zs = [-40, 0, 40];
    const far = matchShift(curve, zs, zs.map((z) => syntheticB(z - 450)));
    expect(far.problem).not.toBeNull();
    const plateau = matchShift(curve, zs, [17.99, 17.99, 17.99]);
    expect(["edge", "flat"]).toContain(plateau.problem);
    const mismatch = matchShift(curve, zs, [0, 15, 0]);
    expect(mismatch.problem).toBe("residual");
  });
});

describe("matchField: per-tile Δz and a robust aggregate", () => {
  const zs = [-30, 0, 30];
  /** Tile column c ∈ {−1, 0, 1} sees focus at focusUm + slope·c (a tilted slide). */
  const tilted = (focusUm: number, slopeUm: number, rng: Rng) => zs.map((z) => Array.from({ length: 9 }, (_, t) => syntheticB(z - focusUm - slopeUm * ((t % 3) - 1)) + 0.02 * rng.normal()));

  it("the per-tile Δz map recovers a tilted field; the aggregate is the ROI centre", () => {
    const m = matchField(curve, zs, tilted(12, 2.5, new Rng(2)));
    expect(m.problem).toBeNull();
    expect(m.inlierTiles).toBe(9);
    m.tileShiftsUm.forEach((s, t) => expect(Math.abs((s as number) - (12 + 2.5 * ((t % 3) - 1))), `tile ${t}`).toBeLessThan(0.3));
    expect(Math.abs((m.shiftUm as number) - 12)).toBeLessThan(0.15);
  });

  it("ignores invalid tiles and drops an outlier tile", () => {
    const tiles = tilted(-20, 0, new Rng(3));
    tiles.forEach((row) => {
      row[4] = Number.NaN;
      row[7] = syntheticB(0);
    });
    tiles[1][2] = Number.NaN;
    tiles[0][2] = Number.NaN;
    const m = matchField(curve, zs, tiles);
    expect(m.validTiles).toBe(7);
    expect(m.tileShiftsUm[4]).toBeNull();
    expect(m.tileShiftsUm[2]).toBeNull();
    expect(m.tileShiftsUm[7]).toBeNull();
    expect(Math.abs((m.shiftUm as number) + 20)).toBeLessThan(0.2);
  });

  it("reports no-texture when no tile has two valid images", () => {
    const m = matchField(curve, zs, zs.map(() => new Array(9).fill(Number.NaN)));
    expect(m).toMatchObject({ problem: "no-texture", shiftUm: null, validTiles: 0 });
  });

  it("validTileScores turns invalid tiles into NaN", () => {
    expect(validTileScores({ score: 1, tiles: [1, 2, 3], valid: [true, false, true] })).toEqual([1, Number.NaN, 3]);
    expect(validTileScores({ score: 1, tiles: [1, Number.POSITIVE_INFINITY] })).toEqual([1, Number.NaN]);
  });
});

describe("a sample whose curve differs from the calibration's by a gain", () => {
  it("matchShift with freeGain recovers Δz and the gain where the pure shift reports a residual", () => {
    const zs = [-40, 0, 40];
    const b = zs.map((z) => 1.5 * syntheticB(z - 17));
    expect(matchShift(curve, zs, b).problem).toBe("residual");
    const m = matchShift(curve, zs, b, { freeGain: true });
    expect(m.problem).toBeNull();
    expect(Math.abs(m.shiftUm - 17)).toBeLessThan(0.1);
    expect(m.gain).toBeCloseTo(1.5, 2);
  });

  it("pairShift finds focus between two bracketing images for any plausible gain (within the 2-µm curve's interpolation error)", () => {
    for (const gain of [0.6, 1, 1.7])
      for (const focusUm of [-7.5, -4, 0, 3.2, 6]) {
        const m = pairShift(curve, -10, 10, gain * syntheticB(-10 - focusUm), gain * syntheticB(10 - focusUm));
        expect(m.problem, `gain ${gain}, focus ${focusUm}`).toBeNull();
        expect(Math.abs(m.shiftUm - focusUm), `gain ${gain}, focus ${focusUm}`).toBeLessThan(0.1);
        expect(m.gain).toBeCloseTo(gain, 1);
      }
  });

  it("pairShift places focus within the part of the pair the curve reaches from both images (a pair wider than half the curve)", () => {
    // ±100 µm on the ±160-µm curve: focus can only lie within ±60 µm, where both images stay on the curve.
    for (const focusUm of [-30, 5, 42]) {
      const m = pairShift(curve, -100, 100, 0.8 * syntheticB(-100 - focusUm), 0.8 * syntheticB(100 - focusUm));
      expect(m.problem, `focus ${focusUm}`).toBeNull();
      expect(Math.abs(m.shiftUm - focusUm), `focus ${focusUm}`).toBeLessThan(0.2);
    }
    expect(pairShift(curve, -170, 170, 20, 20).problem).toBe("edge");
  });

  it("pairShift refuses a pair no gain and no Δz between them explain, and implausible gains", () => {
    expect(pairShift(curve, -10, 10, 0, 3).problem).toBe("edge");
    expect(pairShift(curve, 10, -10, 3, 3).problem).toBe("edge");
    // Both images far out on the saturated curve: "bracketed" only by a gain of several.
    expect(pairShift(curve, 300 - 160, 320 - 160, 17.9, 17.9).problem).toBe("residual");
  });
});
