import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquirePlanes, buildCalibration, calibrateSweeps, coarseSweepWarning, loadProfile, saveProfile, staticPatternWarning, sweepEnds, type PlaneScores } from "../../src/autofocus/calibration.js";
import { risingReachUm, turnDownFraction } from "../../src/focus/curve-reach.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { blurGrowthPx2PerUm2Of } from "../../src/focus/blur-match.js";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import { Rng } from "../../src/optics/rng.js";
import { simulatedRig } from "./rig.js";
import { SyntheticDeepFocusScorer, syntheticB, syntheticProfile } from "./synthetic.js";

const roi = { x: 0.2, y: 0.2, width: 0.6, height: 0.6, cols: 3, rows: 3 };
const meta = { name: "10x", objective: { magnification: 10, na: 0.3 }, scorer: new SyntheticDeepFocusScorer({ defocusUm: () => 0 }), roi, modelHash: "abc123" };

describe("calibration", () => {
  it("drops invalid and outlier tiles, centres the curve at its minimum (the true focus), fits a Moffat dip", () => {
    const rng = new Rng(9);
    const focusUm = 12.3;
    const planes: PlaneScores[] = [];
    for (let z = -140; z <= 160; z += 2)
      planes.push({ zUm: z, tiles: Array.from({ length: 9 }, (_, t) => (t === 2 ? Number.NaN : t === 5 ? 4 + rng.normal() : syntheticB(z - focusUm) + 0.05 * rng.normal())) });
    const p = buildCalibration(planes, meta);
    expect(p.droppedTiles).toEqual([2, 5]);
    expect(p.fit.A).toBeLessThan(0);
    expect(Math.abs(p.fit.z0)).toBeLessThan(1e-6);
    const centreUm = -140 - p.curve[0].zUm;
    expect(Math.abs(centreUm - focusUm)).toBeLessThan(0.2);
    expect(p.fwhmUm).toBeGreaterThan(0);
    expect(p).toMatchObject({ name: "10x", scorer: "deepfocus", modelHash: "abc123", roi });
  });

  it("warns when the sweep's planes lie farther apart than the refinement's first half-span (FWHM / 8)", () => {
    const fine = syntheticProfile();
    expect(coarseSweepWarning(fine)).toBeNull();
    const coarse = syntheticProfile({ stepUm: Math.ceil(fine.fwhmUm / 8) + 1 });
    expect(coarseSweepWarning(coarse)).toMatch(/planes are [\d.]+ µm apart, more than the refinement's first half-span \(FWHM \/ 8 = [\d.]+ µm\)/);
  });

  it("refuses a sharpness metric and a curve without a minimum", () => {
    const planes = Array.from({ length: 20 }, (_, i) => ({ zUm: i, tiles: new Array(9).fill(i) }));
    expect(() => buildCalibration(planes, { ...meta, scorer: createClassicalScorer("tenengrad") })).toThrow(/defocus scorer/);
    expect(() => buildCalibration(planes, meta)).toThrow(ConfigError);
    // Too few planes: said as such, not as planes without texture.
    const v = (zUm: number) => ({ zUm, tiles: new Array(9).fill(syntheticB(zUm)) });
    expect(() => buildCalibration([-10, 0, 10].map(v), meta)).toThrow(/the sweep has 3 planes; it needs at least 5/);
    const empty = (zUm: number) => ({ zUm, tiles: new Array(9).fill(Number.NaN) });
    expect(() => buildCalibration([v(-10), v(0), v(10), empty(20), empty(30), empty(40)], meta)).toThrow(/only 3 of 6 planes have valid tiles/);
  });

  it("acquires a sweep on live devices, travelling upward, reporting each plane", async () => {
    const rig = await simulatedRig({ focusUm: 3 }, { noise: 0.02 });
    try {
      const progress: [number, number, number][] = [];
      const sweeps = await acquirePlanes(rig.ctx.camera, rig.ctx.stage, rig.scorer, roi, { fromUm: -60, toUm: 60, stepUm: 6 }, undefined, (...p) => progress.push(p));
      expect(progress).toEqual(Array.from({ length: 21 }, (_, i) => [i + 1, 21, -60 + 6 * i]));
      expect(sweeps.map((s) => s.binning)).toEqual([1]); // a scorer without withBinning is scored as it is
      const planes = sweeps[0].planes;
      expect(planes).toHaveLength(21);
      const p = buildCalibration(planes, meta);
      expect(Math.abs(planes[0].zUm - p.curve[0].zUm - 3)).toBeLessThan(0.5);
    } finally {
      await rig.devices.stop();
    }
  });
  it("measures blur matching's k on the sweep's frames, as the optics give it; from scores alone, none", async () => {
    const rig = await simulatedRig({ focusUm: 3 }, { noise: 0.02 }, { width: 256, height: 192 });
    try {
      const sweeps = await acquirePlanes(rig.ctx.camera, rig.ctx.stage, rig.scorer, roi, { fromUm: -90, toUm: 96, stepUm: 3 });
      const { objective, camera } = parseConfig({ camera: { kind: "simulated" } });
      const optics = blurGrowthPx2PerUm2Of(objective, camera.kind === "simulated" ? camera.pixelSizeUm : 0)!;
      const k = calibrateSweeps(sweeps, meta).blurGrowthPx2PerUm2!;
      expect(k / optics).toBeGreaterThan(0.85);
      expect(k / optics).toBeLessThan(1.15);
      // Scores alone (a profile built from another program's numbers): no k.
      const scoresOnly = sweeps.map((s) => ({ ...s, planes: s.planes.map(({ zUm, tiles }) => ({ zUm, tiles })) }));
      expect(calibrateSweeps(scoresOnly, meta).blurGrowthPx2PerUm2).toBeUndefined();
    } finally {
      await rig.devices.stop();
    }
  });
});

describe("calibration binning", () => {
  /** A centred V-shaped curve rising 1 px/µm up to `turnUm` from focus, falling beyond. */
  const turning = (turnUm: number): PlaneScores[] =>
    Array.from({ length: 61 }, (_, i) => {
      const z = i - 30;
      const b = 3 + (Math.abs(z) <= turnUm ? Math.abs(z) : 2 * turnUm - Math.abs(z));
      return { zUm: z, tiles: new Array(9).fill(b) };
    });

  it("rising reach: how far from focus the curve still rises on each side; the profile's capture range is the nearer side", () => {
    const curveOf = (planes: PlaneScores[]) => planes.map((p) => ({ zUm: p.zUm, b: p.tiles[0] }));
    expect(risingReachUm(curveOf(turning(30)))).toEqual({ belowUm: 30, aboveUm: 30 });
    expect(risingReachUm(curveOf(turning(12)))).toEqual({ belowUm: 12, aboveUm: 12 });
    const lopsided = curveOf(turning(30)).map((p) => ({ zUm: p.zUm, b: p.zUm > 20 ? 23 : p.b }));
    expect(risingReachUm(lopsided)).toEqual({ belowUm: 30, aboveUm: 20 }); // flat from +20 µm on
    // a slow steady rise sampled finely (each step below 2 % of the depth: a low-NA objective's 4-µm planes) still rises
    const slow = Array.from({ length: 201 }, (_, i) => ({ zUm: 4 * (i - 100), b: 3 + 0.075 * Math.abs(4 * (i - 100)) }));
    const reach = risingReachUm(slow);
    expect(Math.min(reach.belowUm, reach.aboveUm)).toBeGreaterThanOrEqual(392); // within the last 2 % of the rise
    expect(calibrateSweeps([{ binning: 1, planes: turning(30) }], meta).captureRangeUm).toBe(30);
  });

  it("turn-down: how far a curve falls back below what it reached nearer focus, as a fraction of its depth", () => {
    const curveOf = (planes: PlaneScores[]) => planes.map((p) => ({ zUm: p.zUm, b: p.tiles[0] }));
    expect(turnDownFraction(curveOf(turning(30)))).toBe(0);
    expect(turnDownFraction(curveOf(turning(20)))).toBeCloseTo(10 / 20, 9); // rises 20, falls back 10
    const flattening = curveOf(turning(30)).map((p) => ({ zUm: p.zUm, b: Math.abs(p.zUm) > 20 ? 23 + (Math.abs(p.zUm) % 2) : p.b }));
    expect(turnDownFraction(flattening)).toBeLessThan(0.1); // noise on a plateau is not a turn-down
  });

  it("keeps full resolution unless its curve turns down and a binning rises over ≥ 1.5× its stretch; then the finest binning that does not turn down (or, if all do, the one rising farthest)", () => {
    const asIs = calibrateSweeps([{ binning: 1, planes: turning(30) }, { binning: 2, planes: turning(30) }], meta);
    expect(asIs).toMatchObject({ binning: 1, captureRangeUm: 30 });
    const binned = calibrateSweeps([{ binning: 1, planes: turning(10) }, { binning: 2, planes: turning(29) }, { binning: 4, planes: turning(30) }], meta);
    expect(binned).toMatchObject({ binning: 2, captureRangeUm: 29 });
    // every binning turns down (falling back at a quarter of its rise): the one rising farthest
    const sagging = (turnUm: number): PlaneScores[] =>
      turning(30).map((p) => ({ zUm: p.zUm, tiles: p.tiles.map(() => 3 + Math.min(Math.abs(p.zUm), turnUm) - 0.25 * Math.max(0, Math.abs(p.zUm) - turnUm)) }));
    expect(calibrateSweeps([{ binning: 1, planes: sagging(8) }, { binning: 2, planes: sagging(15) }, { binning: 4, planes: sagging(12) }], meta)).toMatchObject({ binning: 2, captureRangeUm: 15 });
    // full resolution turning down only near the sweep's ends is kept: binning would gain little reach
    expect(calibrateSweeps([{ binning: 1, planes: turning(24) }, { binning: 2, planes: turning(30) }], meta).binning).toBe(1);
    // full resolution flattening far out (a 10× objective's far tail) is kept: binning costs detail near focus
    const plateau = turning(30).map((p) => ({ zUm: p.zUm, tiles: p.tiles.map((b) => (Math.abs(p.zUm) > 20 ? 23 + (Math.abs(p.zUm) % 2) : b)) }));
    expect(calibrateSweeps([{ binning: 1, planes: plateau }, { binning: 2, planes: turning(30) }], meta).binning).toBe(1);
    const flat = Array.from({ length: 20 }, (_, i) => ({ zUm: i, tiles: new Array(9).fill(5) }));
    expect(calibrateSweeps([{ binning: 1, planes: flat }, { binning: 2, planes: turning(30) }], meta).binning).toBe(2);
    expect(() => calibrateSweeps([{ binning: 1, planes: flat }], meta)).toThrow(/no minimum/);
    // a sweep reaching 6 µm below focus and 30 µm above: the long side tells the binnings apart
    const offCentre = (turnUm: number) => turning(turnUm).filter((p) => p.zUm >= -6);
    const chosen = calibrateSweeps([{ binning: 1, planes: offCentre(10) }, { binning: 2, planes: offCentre(30) }], meta);
    expect(chosen.binning).toBe(2);
    expect(chosen.captureRangeUm).toBeCloseTo(6, 0); // the short side (the fit centres within 0.1 µm)
  });

  it("measures how far the full-resolution curve falls back far from focus, and warns when it falls back most of its depth", () => {
    // Something that does not blur with focus (dust on the camera window): far-defocused frames read almost as sharp as focus.
    const dusty = turning(30).map((p) => ({ zUm: p.zUm, tiles: p.tiles.map(() => (Math.abs(p.zUm) <= 10 ? 3 + Math.abs(p.zUm) : Math.max(3.5, 23 - 2 * Math.abs(p.zUm)))) }));
    const profile = calibrateSweeps([{ binning: 1, planes: dusty }, { binning: 2, planes: turning(30) }], meta);
    expect(profile.binning).toBe(2);
    expect(profile.fullResolutionFallBack).toBeCloseTo(9.5 / 10, 2); // rises 10, falls back 9.5
    expect(staticPatternWarning(profile)).toMatch(/falls back 95 % of its depth\): something in the images does not blur with focus — dust on the camera window/);
    // A blur disc outgrowing the window at high NA falls back less (binning then keeps the curve rising): no warning.
    const outgrown = calibrateSweeps([{ binning: 1, planes: turning(20) }, { binning: 2, planes: turning(30) }], meta);
    expect(outgrown.fullResolutionFallBack).toBeCloseTo(0.5, 2);
    expect(staticPatternWarning(outgrown)).toBeNull();
    expect(calibrateSweeps([{ binning: 1, planes: turning(30) }], meta).fullResolutionFallBack).toBe(0);
    // No full-resolution sweep: nothing measured, nothing said.
    const binnedOnly = calibrateSweeps([{ binning: 2, planes: turning(30) }], meta);
    expect(binnedOnly.fullResolutionFallBack).toBeUndefined();
    expect(staticPatternWarning(binnedOnly)).toBeNull();
  });
});

describe("calibration profiles", () => {
  it("round-trip through JSON, and a profile made with another model hash is refused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-cal-"));
    const profile = syntheticProfile({ modelHash: "a".repeat(64) });
    await saveProfile(join(dir, "profile.json"), profile);
    expect(await loadProfile(join(dir, "profile.json"), "a".repeat(64))).toEqual(profile);
    expect(await loadProfile(dir, "a".repeat(64))).toEqual(profile);
    await expect(loadProfile(dir, "b".repeat(64))).rejects.toThrow(/made with model aaaaaaaaaaaa.*runs model bbbbbbbbbbbb.*recalibrate/);
    await expect(loadProfile(dir, null)).rejects.toBeInstanceOf(ConfigError);
    const { binning: _binning, ...older } = profile; // profiles written before binning existed
    await writeFile(join(dir, "older.json"), JSON.stringify(older));
    expect((await loadProfile(join(dir, "older.json"), "a".repeat(64))).binning).toBe(1);
    await writeFile(join(dir, "bad.json"), JSON.stringify({ ...profile, fwhmUm: -1 }));
    await expect(loadProfile(join(dir, "bad.json"), "a".repeat(64))).rejects.toThrow(/fwhmUm/);
  });
});

describe("default calibration sweep", () => {
  it("keeps here ± half-range inside the stage's soft limits", () => {
    expect(sweepEnds(0, 145, { minUm: -500, maxUm: 500 })).toEqual({ fromUm: -145, toUm: 145 });
    expect(sweepEnds(10, 145, { minUm: -40, maxUm: 40 })).toEqual({ fromUm: -40, toUm: 40 });
    expect(sweepEnds(450, 145, { minUm: -500, maxUm: 500 })).toEqual({ fromUm: 305, toUm: 500 });
  });
});
