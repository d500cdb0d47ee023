import { describe, expect, it } from "vitest";
import { metricPeak, nextPeakImage } from "../../src/autofocus/metric-peak.js";
import type { TracePoint } from "../../src/autofocus/types.js";

const FWHM_UM = 24;
/** The calibration sample's DeepFocus curve (floor 2.5 at focus, ×2 at 12 µm), sampled over ±20 µm. */
const CURVE = { zUm: Array.from({ length: 41 }, (_, i) => i - 20), b: Array.from({ length: 41 }, (_, i) => 2.5 * Math.sqrt(1 + ((i - 20) / 7) ** 2)) };
const FOCUS_UM = 0.7;
/** A gradient metric's peak over a pedestal (half width 6 µm), and DeepFocus reading a sample 3× the calibration's floor, rising more slowly. */
const peaked = (zUm: number): number => 1 + 0.5 / (1 + ((zUm - FOCUS_UM) / 6) ** 2);
const deepfocus = (zUm: number): number => 8 + 0.02 * (zUm - FOCUS_UM) ** 2;

function trace(zsUm: readonly number[], sharpness: (zUm: number) => number, score: (zUm: number) => number = deepfocus): TracePoint[] {
  return zsUm.map((zUm, i) => ({ zUm, score: score(zUm), tiles: [score(zUm)], sharpness: sharpness(zUm), timeMs: i }));
}

const WALK_UM = [15, 10, 5, -15, -10, -5, 2, -1];

describe("metricPeak: the cross-check metric's own focus peak, when DeepFocus confirmed none", () => {
  it("a clear, single peak with images FWHM/8 apart around it: focus at its vertex, uncertainty half the wider gap", () => {
    const peak = metricPeak(trace(WALK_UM, peaked), CURVE, FWHM_UM);
    expect(peak).toMatchObject({ uncertaintyUm: 1.5 });
    expect(Math.abs((peak as { zUm: number }).zUm - FOCUS_UM)).toBeLessThan(0.3);
  });

  it("refuses what leaves room for noise or a false peak, and says why", () => {
    expect(metricPeak(trace([10, 0, -10, 5], peaked), CURVE, FWHM_UM)).toMatch(/^has too few images \(4\)/);
    expect(metricPeak(trace([-30, -20, -10, 0, 10, 20], peaked), CURVE, FWHM_UM)).toMatch(/^has no images within 6\.0 µm \(FWHM\/4\) each side of its sharpest one/);
    expect(metricPeak(trace([-15, -10, -5, 0, 5, 10, 15], (z) => (z === 15 ? 2 : peaked(z))), CURVE, FWHM_UM)).toBe("is sharpest at its outermost image");
    // A cell field through a blurring camera: the metric varies 3 % over ±15 µm.
    expect(metricPeak(trace(WALK_UM, (z) => 1 + 0.03 / (1 + ((z - FOCUS_UM) / 6) ** 2)), CURVE, FWHM_UM)).toMatch(/^falls only [\d.]+ % and [\d.]+ % below its peak/);
    // One side falls 30 %, the other 2 %: focus may lie farther that way.
    expect(metricPeak(trace(WALK_UM, (z) => (z > 0 ? 1.5 - 0.002 * z : peaked(z))), CURVE, FWHM_UM)).toMatch(/^falls only/);
    // An image 2 µm from the peak reads as low as 15 µm out: two peaks, or noise.
    expect(metricPeak(trace(WALK_UM, (z) => (z === -1 ? peaked(-15) : peaked(z))), CURVE, FWHM_UM)).toMatch(/^does not follow one peak/);
  });

  it("refuses a peak DeepFocus does not read as its lowest, or where DeepFocus does not rise on both sides (a gradient metric's false peak a few DOF out)", () => {
    expect(metricPeak(trace(WALK_UM, peaked, (z) => deepfocus(z - 10)), CURVE, FWHM_UM)).toMatch(/^peaks at z=2\.0 µm, where DeepFocus does not read its lowest/);
    expect(metricPeak(trace(WALK_UM, peaked, (z) => 8 + 0.1 * Math.max(0, z - 2)), CURVE, FWHM_UM)).toMatch(/where DeepFocus does not read its lowest with higher readings on both sides/);
  });

  it("refuses a peak where DeepFocus reads every image alike (a field without texture, the metric measuring noise)", () => {
    const flat = (z: number): number => 60 + 0.01 * Math.abs(z - FOCUS_UM);
    expect(metricPeak(trace(WALK_UM, peaked, flat), CURVE, FWHM_UM)).toMatch(/^peaks at z=2\.0 µm, but DeepFocus reads the images around it alike \(it rises \d+ % as much as the calibration curve\): a field without texture$/);
    // A sample reading 3× the floor whose DeepFocus curve rises a quarter as steeply as the calibration's still answers.
    const shallow = (z: number): number => 7.5 * (1 + 0.25 * (Math.sqrt(1 + ((z - FOCUS_UM) / 7) ** 2) - 1));
    expect(metricPeak(trace(WALK_UM, peaked, shallow), CURVE, FWHM_UM)).toHaveProperty("zUm");
  });

  it("refuses a peak at an image DeepFocus could not read, and one a calibration curve flat over the images' span cannot vouch for", () => {
    const unread = trace(WALK_UM, peaked).map((p) => (p.zUm === 2 ? { ...p, score: Number.NaN, tiles: [Number.NaN] } : p));
    expect(metricPeak(unread, CURVE, FWHM_UM)).toBe("is sharpest at z=2.0 µm, an image DeepFocus could not read (no valid tile)");
    const flatCurve = { zUm: CURVE.zUm, b: CURVE.zUm.map(() => 2.5) };
    expect(metricPeak(trace(WALK_UM, peaked), flatCurve, FWHM_UM)).toMatch(/DeepFocus reads the images around it alike/);
  });

  it("nextPeakImage: where one more image lets the peak be judged — into the wider gap beside the sharpest image, or out on the flank that fell least; none when the peak is clear or only the stage limit is left", () => {
    const range = [-500, 500] as const;
    // A 10-µm gap below the sharpest image (FWHM/4 = 6 µm): midway in it.
    expect(nextPeakImage(trace([-20, -10, 0, 3, 8, 15], peaked), FWHM_UM, ...range)).toBe(-5);
    // The upper flank falls 1.7 %: 1.618 × its outermost image's distance above the sharpest one.
    const weak = trace(WALK_UM, (z) => (z > 0 ? 1.5 - 0.002 * z : peaked(z)));
    expect(nextPeakImage(weak, FWHM_UM, ...range)).toBeCloseTo(2 + 1.618034 * 13, 4);
    // …unless the stage ends there (and an image was already taken at the limit).
    expect(nextPeakImage(weak, FWHM_UM, -500, 15)).toBeNull();
    expect(nextPeakImage(trace(WALK_UM, peaked), FWHM_UM, ...range)).toBeNull();
  });
});
