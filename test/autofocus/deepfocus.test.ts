import { afterEach, describe, expect, it } from "vitest";
import { initialPoints, nextGoldenPoint, refineHalfSpanUm } from "../../src/autofocus/bracket.js";
import { deepfocusAutofocus, finish, guarded, matchTrace, searchImages, startRun, type DeepFocusRun } from "../../src/autofocus/deepfocus.js";
import { profileCurve } from "../../src/autofocus/calibration.js";
import type { AutofocusContext, TracePoint } from "../../src/autofocus/types.js";
import { probe, probeAll } from "../../src/autofocus/probe.js";
import { fewImageAnswer } from "../../src/autofocus/few-images.js";
import { refine } from "../../src/autofocus/refine.js";
import { sharpnessFallback } from "../../src/autofocus/fallback.js";
import { CanceledError, ConfigError, FocusNotFoundError } from "../../src/errors.js";
import { blurGrowthPx2PerUm2Of } from "../../src/focus/blur-match.js";
import { isConvex } from "../../src/focus/fit.js";
import { parseConfig } from "../../src/config/load.js";
import type { FocusScorer, Roi } from "../../src/focus/types.js";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import { roiTiles } from "../../src/focus/tiles.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import type { SimulatedMicroscope } from "../../src/hardware/simulated-microscope.js";
import { simulatedStation } from "../helpers.js";
import { matchAt, SyntheticDeepFocusScorer, syntheticB, syntheticProfile } from "./synthetic.js";
import { simulatedRig, type Rig } from "./rig.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.devices.stop();
  rig = undefined;
});

const profile = syntheticProfile();

/** A frame score whose nine tiles all read `b`, all valid (scorers written out in a test). */
const tiles = (b: number) => ({ score: b, tiles: Array(9).fill(b), valid: Array(9).fill(true) });

/**
 * A fresh simulated rig (focus at `focusUm`, synthetic DeepFocus `curve`) whose stage starts at
 * zsUm[0]: images at `zsUm`, then `finish` with every tile matched at `targetUm`. Returns the
 * result or the error thrown (the answer checks' verdict); the rig is left in `rig`.
 */
async function answerAfter(focusUm: number, curve: Parameters<typeof simulatedRig>[1], zsUm: readonly number[], targetUm: number): Promise<unknown> {
  await rig?.devices.stop();
  rig = await simulatedRig({ focusUm }, curve);
  await rig.devices.stage.moveTo(zsUm[0]);
  const run = startRun(rig.ctx, profile, { maxImages: 10 });
  for (const zUm of zsUm) await probe(run.ctx, run.trace, run.t0Ms, zUm);
  const match = matchAt(targetUm);
  return guarded(run, () => finish(run, match, "deepfocus")).catch((e: unknown) => e);
}

describe("DeepFocus search steps on synthetic curves", () => {
  it("convexity: three images on one branch are not convex, images straddling focus are", () => {
    const branch = [40, 80, 120];
    expect(isConvex(branch, branch.map(syntheticB), "minimum")).toBe(false);
    const straddle = [-40, 0, 40].map((z) => z + 7);
    expect(isConvex(straddle, straddle.map(syntheticB), "minimum")).toBe(true);
  });

  it("golden-section updates expand past the lower end, then narrow the bracket around the minimum", () => {
    const points = [40, 80, 120].map((zUm) => ({ zUm, score: syntheticB(zUm) }));
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      const z = nextGoldenPoint(points, -500, 500);
      if (z === null) break;
      seen.push(z);
      points.push({ zUm: z, score: syntheticB(z) });
    }
    expect(seen[0]).toBeCloseTo(40 - 1.618034 * 40, 4);
    const best = points.reduce((p, q) => (q.score < p.score ? q : p));
    expect(Math.abs(best.zUm)).toBeLessThan(3);
    expect(nextGoldenPoint([-500, -400, -300].map((zUm) => ({ zUm, score: 10 + zUm / 100 })), -500, 500)).toBeNull();
  });

  it("initial images z1, z1 ± s are moved inside the stage limits as a whole", () => {
    expect(initialPoints(0, 40, -500, 500)).toEqual([-40, 0, 40]);
    expect(initialPoints(480, 40, -500, 500)).toEqual([420, 460, 500]);
    expect(initialPoints(0, 40, -10, 10)).toEqual([-10, 0, 10]);
  });
});

describe("DeepFocus autofocus on the simulated microscope (synthetic scorer)", () => {
  it("lands within 0.3 µm of focus with 3 images from starts across ±100 µm", async () => {
    rig = await simulatedRig({ focusUm: 7 });
    for (const startUm of [-93, -40, 7, 31, 107]) {
      await rig.devices.stage.moveTo(startUm);
      const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 });
      expect(Math.abs(rig.microscope.defocusUm()), `from ${startUm} → ${r.finalUm}`).toBeLessThan(0.3);
      expect(r).toMatchObject({ method: "deepfocus", images: 3, startUm });
      expect(r.tileFocusUm).toHaveLength(9);
    }
  });

  it("takes its first images at the start, above it and then below it, so that the run goes on upward from the lowest without a backlash overshoot", async () => {
    rig = await simulatedRig({ focusUm: 7 });
    await rig.devices.stage.moveTo(31);
    const backend = rig.ctx.stage.backend;
    const moveTo = backend.moveTo.bind(backend);
    const overshoots: number[] = [];
    backend.moveTo = async (zUm, signal, options) => {
      if (options?.waypointToUm !== undefined) overshoots.push(zUm);
      return moveTo(zUm, signal, options);
    };
    const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 });
    const spacingUm = r.trace[1].zUm - 31;
    expect(spacingUm).toBeGreaterThan(0);
    expect(r.trace.map((p) => p.zUm)).toEqual([31, 31 + spacingUm, 31 - spacingUm]);
    // One overshoot, on the way down to the lowest image; the final move up to focus needs none.
    expect(overshoots).toHaveLength(1);
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(0.3);
  });

  it("takes golden-section images while not convex, and a counted verification image", async () => {
    rig = await simulatedRig();
    await rig.devices.stage.moveTo(80);
    const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10, verify: true });
    expect(r.images).toBeGreaterThan(4);
    expect(r.images).toBeLessThanOrEqual(10);
    expect(r.trace.at(-1)?.zUm).toBeCloseTo(r.finalUm, 0);
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(0.3);
    expect(Math.abs((r.verification?.b ?? Infinity) - (r.verification?.expectedB ?? 0))).toBeLessThan(0.3);
    await expect(deepfocusAutofocus(rig.ctx, profile, { maxImages: 3, verify: true })).rejects.toBeInstanceOf(ConfigError);
    // a profile calibrated on binned frames needs a scorer that can bin (the synthetic one cannot)
    await expect(deepfocusAutofocus(rig.ctx, { ...profile, binning: 2 }, { maxImages: 10 })).rejects.toThrow(/2×2-binned frames/);
  });

  it("the golden-section search leaves one triple of a larger budget to the refinement, so no unconfirmed match is returned", async () => {
    rig = await simulatedRig();
    // Scores falling steadily with z: never convex, so the search would spend any budget.
    const scope = rig.microscope;
    const score = async (frame: Frame) => {
      const b = 500 - scope.exposureDefocusUm(frame.timestampMs);
      return { score: b, tiles: new Array(9).fill(b) };
    };
    const ramp = { ...rig.ctx, scorer: { id: "deepfocus" as const, higherIsSharper: false, score } };
    for (const [maxImages, searched] of [[5, 5], [8, 5], [10, 7]] as const) {
      await rig.devices.stage.moveTo(0);
      // No cross-check: Tenengrad on the simulated frames would contradict the ramp and end the search early.
      const run = startRun(ramp, profile, { maxImages, crossCheck: null });
      await searchImages(run, 0);
      expect(run.trace.length, `budget ${maxImages}`).toBe(searched);
    }
    await rig.devices.stage.moveTo(0);
    const err = await deepfocusAutofocus(ramp, profile, { maxImages: 8 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "out-of-range" });
    expect(rig.devices.stage.positionUm()).toBe(0);
  });

  it("the per-tile focus map shows the slide's tilt", async () => {
    const tiltUmPerMm = 400;
    rig = await simulatedRig({ tiltUmPerMm }, { noise: 0.02 });
    await rig.devices.stage.moveTo(-25);
    const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 5 });
    const map = r.tileFocusUm as number[];
    // Tile columns are 12.67 px apart at 0.345 µm/px: focus changes by tilt·Δx per column.
    const perColumnUm = (tiltUmPerMm * (64 * 0.6 * 0.345)) / 3 / 1000;
    for (const row of [0, 3, 6]) {
      expect(map[row + 1] - map[row]).toBeCloseTo(perColumnUm, 0);
      expect(map[row + 2] - map[row + 1]).toBeCloseTo(perColumnUm, 0);
    }
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(0.3);
  });

  it("a sample whose curve is 1.4× the calibration's: 3 images miss or refuse, the bracketing refinement lands within 0.3 µm", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { gain: 1.4 });
    let paperMissed = 0;
    for (const startUm of [-53, -20, 30, 61]) {
      await rig.devices.stage.moveTo(startUm);
      const three = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 }).catch((e: unknown) => e);
      if (three instanceof FocusNotFoundError || Math.abs(rig.microscope.defocusUm()) > 0.3) paperMissed++;
      await rig.devices.stage.moveTo(startUm);
      const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 12 });
      expect(Math.abs(rig.microscope.defocusUm()), `from ${startUm} → ${r.finalUm} in ${r.images} images`).toBeLessThan(0.3);
      expect(r.images).toBeLessThanOrEqual(12);
      expect(r.trace.length).toBe(r.images);
    }
    expect(paperMissed).toBeGreaterThan(0);
  });

  it("3 images that bracket focus: the outer pair gives focus whatever the sample's gain, where the shift fit is micrometres off or refuses", async () => {
    for (const gain of [0.7, 1.4]) {
      rig = await simulatedRig({ focusUm: 7 }, { gain });
      for (const startUm of [-5, 15]) {
        await rig.devices.stage.moveTo(startUm);
        const run = startRun(rig.ctx, profile, { maxImages: 3 });
        await searchImages(run, startUm);
        const shiftFit = matchTrace(run);
        expect(shiftFit.problem !== null || Math.abs(shiftFit.shiftUm! - 7) > 1.5, `gain ${gain} from ${startUm}: shift fit ${shiftFit.shiftUm}`).toBe(true);
        await rig.devices.stage.moveTo(startUm);
        const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 });
        expect(r.images).toBe(3);
        expect(Math.abs(rig.microscope.defocusUm()), `gain ${gain} from ${startUm} → ${r.finalUm}`).toBeLessThan(0.5);
      }
      await rig.devices.stop();
      rig = undefined;
    }
  });

  it("a sample whose curve saturates 40 µm from focus: 3 bracketing images answer micrometres off (their pair lies at unequal distances), 4 or 5 spend the rest on an even pair and land within 0.3 µm", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { saturatesAtUm: 40 });
    for (const startUm of [-5, 15]) {
      await rig.devices.stage.moveTo(startUm);
      await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 });
      expect(Math.abs(rig.microscope.defocusUm()), `3 images from ${startUm}`).toBeGreaterThan(2);
      for (const maxImages of [4, 5]) {
        await rig.devices.stage.moveTo(startUm);
        const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages });
        expect(r.images).toBe(maxImages);
        expect(Math.abs(rig.microscope.defocusUm()), `${maxImages} images from ${startUm} → ${r.finalUm}`).toBeLessThan(0.3);
      }
    }
  });

  it("a sample whose curve saturates 10 µm from focus, far below the calibration's level: the refinement starts at the sharpest image, not at a free-gain fit on the curve's far, flat stretch", async () => {
    // The first images read flat far out, below any level the calibration curve has there; a free
    // gain fits them to a far stretch of the curve, and a walk from there ended 5 µm off or refused.
    rig = await simulatedRig({ focusUm: 7 }, { saturatesAtUm: 10 });
    for (const offsetUm of [-15, 15, 25]) {
      await rig.devices.stage.moveTo(7 + offsetUm);
      const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10 });
      expect(Math.abs(rig.microscope.defocusUm()), `from ${offsetUm} µm → ${r.finalUm}`).toBeLessThan(0.5);
    }
  });

  it("a bracket wider than the first spacing (golden-section images far out, where samples saturate differently) is not read by its outer pair", async () => {
    // A sample whose curve stops rising 40 µm from focus (at 7 µm): an outer pair 69 and 81 µm from
    // the sharpest image reads alike, which the pair would take for focus midway (15 µm).
    const b = (zUm: number): number => syntheticB(Math.min(Math.abs(zUm - 7), 40));
    const point = (zUm: number): TracePoint => ({ zUm, score: b(zUm), tiles: Array(9).fill(b(zUm)), timeMs: 0 });
    const curve = profileCurve(profile);
    const run = (zs: number[]): DeepFocusRun => ({ ctx: {} as AutofocusContext, profile, curve, options: { maxImages: zs.length }, startUm: zs[0], t0Ms: 0, trace: zs.map(point), thumbs: new Map(), fineThumbs: new Map() });
    const wide = run([-60, 9, 90, -100, 130]);
    expect(await fewImageAnswer(wide, matchTrace(wide))).toBeNull();
    // Within the first spacing (2·FWHM, capped at 1/8 of the curve: 40 µm) the pair answers.
    const near = run([-25, 9, 40, -100, 130]);
    const pair = await fewImageAnswer(near, matchTrace(near));
    expect(pair?.problem).toBeNull();
    expect(Math.abs(pair!.shiftUm! - 7)).toBeLessThan(0.5);
  });

  it("a false DeepFocus minimum 12 µm from focus (periodic sample): without the Tenengrad cross-check the refinement settles there, with it the refinement walks on to focus", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { noise: 0.02, falseMinimumUm: 12 });
    const fromFalseMinimum = matchAt(19);
    const defocusAfter = async (crossCheck: "tenengrad" | null): Promise<number> => {
      await rig!.devices.stage.moveTo(30);
      const run = startRun(rig!.ctx, profile, { maxImages: 9, refineHalfSpanUm: 4, crossCheck });
      await finish(run, await refine(run, fromFalseMinimum), "deepfocus");
      expect(run.trace.every((p) => (crossCheck === null ? p.sharpness === undefined : Number.isFinite(p.sharpness)))).toBe(true);
      return rig!.microscope.defocusUm();
    };
    expect(Math.abs((await defocusAfter(null)) - 12)).toBeLessThan(1);
    expect(Math.abs(await defocusAfter("tenengrad"))).toBeLessThan(0.5);
  });

  /** The rig's context with frames within 3 µm of `peakDefocusUm` overlaid by a checkerboard whose contrast peaks there: a false Tenengrad peak. */
  function withFalseSharpnessPeak(r: Rig, peakDefocusUm: number): Rig["ctx"] {
    const scope = r.microscope;
    const camera = r.ctx.camera;
    const grab = async (signal?: AbortSignal): Promise<Frame> => {
      const frame = await camera.grab(signal);
      const weight = 1 - Math.abs(scope.exposureDefocusUm(frame.timestampMs) - peakDefocusUm) / 3;
      if (weight > 0)
        for (let i = 0; i < frame.data.length; i++) {
          const x = i % frame.width;
          const y = Math.floor(i / frame.width);
          frame.data[i] = Math.min(255, Math.max(0, frame.data[i] + (((x >> 1) + (y >> 1)) % 2 ? 1 : -1) * 80 * weight));
        }
      return frame;
    };
    return { ...r.ctx, camera: { info: camera.info, start: () => camera.start(), stop: () => camera.stop(), grab } };
  }

  it("a false Tenengrad peak 20 µm from focus (a phase-like sample's contrast, light spilling into a sparse field): where DeepFocus is steep it overrules the cross-check and the refinement walks on to focus", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { noise: 0.02 });
    const ctx = withFalseSharpnessPeak(rig, -20);
    const atFalsePeak = matchAt(-13);
    await rig.devices.stage.moveTo(-40);
    const run = startRun(ctx, profile, { maxImages: 15, refineHalfSpanUm: 4 });
    const r = await finish(run, await refine(run, atFalsePeak), "deepfocus");
    const first = run.trace.slice(0, 3).sort((a, b) => a.zUm - b.zUm).map((p) => p.sharpness as number);
    expect(first[1]).toBeGreaterThan(2 * Math.max(first[0], first[2])); // the cross-check alone would bracket at −20
    expect(Math.abs(rig.microscope.defocusUm()), `ended at ${r.finalUm}`).toBeLessThan(0.5);
  });

  it("a false Tenengrad peak where DeepFocus reads blurrier than any calibration plane (a sample beyond the calibrated range): no focus there — the run refuses within a small budget and walks on to focus with a larger one", async () => {
    // Calibrated over ±10 µm only; the peak 20 µm out, refinement triples ±1.5 µm (DeepFocus falls < 10 % across one).
    const narrow = syntheticProfile({ halfRangeUm: 10, stepUm: 0.5 });
    const endsAt = async (maxImages: number): Promise<number | FocusNotFoundError> => {
      rig = await simulatedRig({ focusUm: 7 }, { noise: 0.005 });
      const ctx = withFalseSharpnessPeak(rig, -20);
      await rig.devices.stage.moveTo(-13);
      const run = startRun(ctx, narrow, { maxImages, refineHalfSpanUm: 1.5 });
      const atFalsePeak = matchAt(-13);
      const result = await guarded(run, async () => finish(run, await refine(run, atFalsePeak), "deepfocus")).then(() => rig!.microscope.defocusUm(), (e: unknown) => e as FocusNotFoundError);
      await rig.devices.stop();
      rig = undefined;
      return result;
    };
    expect(await endsAt(8)).toBeInstanceOf(FocusNotFoundError);
    const far = await endsAt(30);
    expect(far, "found, not refused").toBeTypeOf("number");
    expect(Math.abs(far as number)).toBeLessThan(0.5);
  });

  it("a DeepFocus curve flat for ±15 µm around focus (periodic sample): Tenengrad's peak gives focus within 0.2 DOF at 10 images and 0.3 µm at 15; without it the run refuses or misses", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { flatWithinUm: 15 });
    for (const startUm of [-40, 20, 45]) {
      for (const [maxImages, toleranceUm] of [[10, 1.5], [15, 0.3]]) {
        await rig.devices.stage.moveTo(startUm);
        const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages });
        expect(Math.abs(rig.microscope.defocusUm()), `from ${startUm} → ${r.finalUm} in ${r.images} of ${maxImages} images`).toBeLessThan(toleranceUm);
        expect(r.tileFocusUm.filter((z) => z !== null).length).toBeGreaterThan(0);
      }
      await rig.devices.stage.moveTo(startUm);
      const without = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10, crossCheck: null }).catch((e: unknown) => e);
      if (!(without instanceof FocusNotFoundError)) expect(Math.abs(rig.microscope.defocusUm())).toBeGreaterThan(1);
    }
  });

  it("a first match that fits nowhere: with the cross-check the refinement starts from the sharpest image and confirms focus; without it the run refuses", async () => {
    rig = await simulatedRig({ focusUm: 7 });
    const edge = { shiftUm: null, tileShiftsUm: new Array(9).fill(null), validTiles: 9, inlierTiles: 0, rmsResidual: 0.1, uncertaintyUm: Infinity, problem: "edge" as const };
    for (const crossCheck of ["tenengrad", null] as const) {
      await rig.devices.stage.moveTo(-30);
      const run = startRun(rig.ctx, profile, { maxImages: 12, crossCheck });
      for (const zUm of [-30, 4, 40]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
      const refined = await refine(run, edge);
      if (crossCheck === null) {
        expect(refined).toBe(edge);
        continue;
      }
      // The first triple is centred on the sharpest image (z = 4) and reuses it.
      expect(run.trace[3].zUm).toBeLessThan(4);
      expect(run.trace[4].zUm).toBeGreaterThan(4);
      expect(run.trace.filter((p) => p.zUm === 4)).toHaveLength(1);
      const r = await finish(run, refined, "deepfocus");
      expect(Math.abs(rig.microscope.defocusUm()), `→ ${r.finalUm} in ${r.images} images`).toBeLessThan(0.3);
    }
  });

  it("a first match that misfits a sample saturating 12 µm out: the refinement does not start where a free gain fits the images to the curve's far stretch (which would put the sharpest image's reading at under half the curve's there)", async () => {
    rig = await simulatedRig({ focusUm: 0 }, { saturatesAtUm: 12 });
    await rig.devices.stage.moveTo(30);
    const residual = { shiftUm: null, tileShiftsUm: new Array(9).fill(null), validTiles: 9, inlierTiles: 0, rmsResidual: 1, uncertaintyUm: Infinity, problem: "residual" as const };
    const run = startRun(rig.ctx, profile, { maxImages: 10 });
    for (const zUm of [30, -6, 66]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refined = await refine(run, residual);
    // The first triple is centred on the sharpest image (−6 µm), not on the free-gain fit near −70 µm.
    expect(Math.abs(run.trace[3].zUm + 6)).toBeLessThanOrEqual(refineHalfSpanUm(run) + 1e-9);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm!), `→ ${refined.shiftUm}`).toBeLessThan(0.3);
  });

  /**
   * A run (focus at 0) whose first images, at 48, 30 and 66 µm, read flat and low, and a first match on that flat
   * stretch (70 µm): DeepFocus follows the curve within 20 µm of focus and reads flat beyond, at a sixth of the
   * curve's ceiling, drifting lower outwards; Tenengrad peaks at focus.
   */
  async function flatLowRun(options: { maxImages: number; refineHalfSpanUm?: number }) {
    await rig?.devices.stop(); // a test may build several
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    const defocus = (frame: Frame) => scope.exposureDefocusUm(frame.timestampMs);
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(Math.abs(defocus(frame)) > 20 ? 2.5 - 0.001 * Math.abs(defocus(frame)) : syntheticB(defocus(frame))) };
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(100 + 900 * Math.exp(-(defocus(frame) ** 2) / (2 * 15 ** 2))) };
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, options);
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [48, 30, 66]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const onFlatStretch = matchAt(70);
    return { run, onFlatStretch };
  }

  it("a first match on a stretch that DeepFocus reads flat and low (Tenengrad rates another image decisively sharper than the one DeepFocus reads lowest): the refinement starts at that sharper image, not at the match", async () => {
    const { run, onFlatStretch } = await flatLowRun({ maxImages: 12, refineHalfSpanUm: 6 });
    const refined = await refine(run, onFlatStretch);
    expect(run.trace.slice(3, 5).map((p) => p.zUm)).toEqual([24, 36]);
    expect(refined.problem, run.trace.map((p) => p.zUm.toFixed(1)).join(", ")).toBeNull();
    expect(Math.abs(refined.shiftUm!), `→ ${refined.shiftUm}`).toBeLessThan(0.3);
  });

  it("a first match on a stretch that DeepFocus reads flat and low, with no images left for a refinement: refused as flat, not answered", async () => {
    for (const maxImages of [3, 5]) {
      const { run, onFlatStretch } = await flatLowRun({ maxImages });
      const refined = await refine(run, onFlatStretch);
      expect(refined.problem, `${maxImages} images`).toBe("flat");
      expect(refined.shiftUm).toBeNull();
      expect(run.trace).toHaveLength(3);
    }
  });

  it("a sample that reads flat from 10 µm out, from 60 µm: the search stops after its first three images, where Tenengrad already rates one decisively sharper than the one DeepFocus reads lowest, and the refinement walks to focus", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { saturatesAtUm: 10 });
    await rig.devices.stage.moveTo(67);
    const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10 });
    // Golden-section images chasing the flat readings ended 4.75 µm off (0.65 DOF); now within a seventh of a DOF.
    expect(Math.abs(rig.microscope.defocusUm()), `→ ${r.finalUm}`).toBeLessThan(1);
    await rig.devices.stage.moveTo(67);
    const run = startRun(rig.ctx, profile, { maxImages: 10 });
    await searchImages(run, 67);
    expect(run.trace).toHaveLength(3);
  });

  it("near focus, DeepFocus and Tenengrad each call the other of two images 2 µm either side of focus sharper (within their noise): the refinement images midway instead of going back and forth, and finds focus", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    // DeepFocus's curve bottoms 0.05 µm below focus, Tenengrad's peak 0.05 µm above it: at ±h/2 they disagree by well under their noise.
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(syntheticB(scope.exposureDefocusUm(frame.timestampMs) + 0.05)) };
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(100 + 900 * Math.exp(-((scope.exposureDefocusUm(frame.timestampMs) - 0.05) ** 2) / (2 * 12 ** 2))) };
    // Triples ±4 µm wide: their images near focus read within 2× the curve's floor.
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, { maxImages: 10, refineHalfSpanUm: 4 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    const h = refineHalfSpanUm(run);
    // A first estimate h/2 above focus: its triple −h/2, h/2, 3h/2 has focus midway between its lower two images.
    const first = matchAt(h / 2);
    const refined = await refine(run, first);
    expect(refined.problem, run.trace.map((p) => p.zUm.toFixed(1)).join(", ")).toBeNull();
    expect(Math.abs(refined.shiftUm!)).toBeLessThan(0.3);
    expect(run.trace.some((p) => Math.abs(p.zUm) < 1e-6)).toBe(true);
  });

  it("far from focus, where DeepFocus reads flat, a walk that would step back to a triple it has taken stops (its images stay for the fallback) instead of imaging midway", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    // A far, flat stretch (about 20× the calibration floor) with the two metrics' extremes 0.2 µm apart around 40 µm.
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(8 + 0.0005 * (scope.exposureDefocusUm(frame.timestampMs) - 39.9) ** 2) };
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(200 - 0.0005 * (scope.exposureDefocusUm(frame.timestampMs) - 40.1) ** 2) };
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, { maxImages: 10, refineHalfSpanUm: 4 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    const first = matchAt(42);
    const refined = await refine(run, first);
    expect(refined.problem).toBe("unbracketed");
    expect(run.trace.map((p) => p.zUm)).toEqual([38, 42, 46, 34]);
  });

  it("a walk that runs out of images beside focus: an image the search took between the walk's images, sharpest to both metrics, and its neighbours bracket focus", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    await rig.devices.stage.moveTo(-37);
    const run = startRun(rig.ctx, profile, { maxImages: 6, refineHalfSpanUm: 8 });
    // The search's images, one of them 1.2 µm from focus; the first estimate 4.3 µm below focus.
    for (const zUm of [-37, 21, -1.2]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const first = matchAt(-4.3);
    const refined = await refine(run, first);
    // The walk's triple −12.3, −4.3, 3.7 steps towards 3.7 and has no images left for the next one.
    expect(run.trace.map((p) => p.zUm)).toEqual([-37, 21, -1.2, -12.3, -4.3, 3.7]);
    // −4.3, −1.2, 3.7 bracket focus: DeepFocus reads −1.2 lowest, Tenengrad rates it decisively sharpest.
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm!), `→ ${refined.shiftUm}`).toBeLessThan(0.3);
  });

  /** Tenengrad's peak about focus: Gaussian with SD `widthUm`, or heavy-tailed (Lorentzian, half-width `widthUm`) as a broadband sample's. */
  type PeakShape = "gaussian" | "lorentzian";
  const peakAt = (shape: PeakShape, offsetUm: number, widthUm: number): number =>
    shape === "gaussian" ? Math.exp(-(offsetUm ** 2) / (2 * widthUm ** 2)) : 1 / (1 + (offsetUm / widthUm) ** 2);

  it("a first bracket whose triple is much wider than Tenengrad's peak, with images left for one more triple only: that last triple is centred on the DeepFocus pair's focus, not on the Tenengrad vertex, which leans to the middle image, and spans ±σ of the peak", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    await rig.devices.stage.moveTo(40);
    // A Lorentzian-like peak of half-width 3 µm: a log-parabola through −6, 2, 10 puts its vertex 0.95 µm from focus, towards 2.
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(100 * peakAt("lorentzian", scope.exposureDefocusUm(frame.timestampMs), 3)) };
    const run = startRun(rig.ctx, profile, { maxImages: 9, refineHalfSpanUm: 8 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [40, 76, -40]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const first = matchAt(2);
    const refined = await refine(run, first);
    const zs = run.trace.map((p) => p.zUm);
    expect(zs.slice(0, 6)).toEqual([40, 76, -40, -6, 2, 10]);
    expect(zs).toHaveLength(9);
    // The last triple's middle image: at the DeepFocus pair's focus (≈ 0), not at the vertex (≈ 0.95); its half-span the peak's σ (4.36 µm).
    expect(Math.abs(zs[7]), zs.map((z) => z.toFixed(2)).join(", ")).toBeLessThan(0.3);
    expect(Math.abs((zs[8] - zs[6]) / 2 - 4.36)).toBeLessThan(0.2);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm!)).toBeLessThan(0.3);
  });

  it("a low-contrast sample at high magnification (Tenengrad's peak narrow, on a pedestal of a third of its height): the refinement narrows its triples to the peak above the pedestal and ends within a quarter of a DOF of focus", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    await rig.devices.stage.moveTo(12);
    // The 40×/NA 0.75 cells stack's Tenengrad: 0.0065 far out, 0.017 at focus, σ ≈ 0.65 µm above the pedestal.
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(65 + 105 * peakAt("gaussian", scope.exposureDefocusUm(frame.timestampMs), 0.65)) };
    const run = startRun(rig.ctx, profile, { maxImages: 10, refineHalfSpanUm: 2.8 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [12, 15.75, 8.25]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refined = await refine(run, matchAt(0.8));
    // On the raw scores the first triple (−2, 0.8, 3.6) read a peak 2.7 µm wide: the run stopped there, 0.78 µm off (DOF ≈ 1.1 µm).
    expect(run.trace.length, run.trace.map((p) => p.zUm.toFixed(2)).join(", ")).toBeGreaterThan(6);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm!), `→ ${refined.shiftUm}`).toBeLessThan(0.25);
  });

  it("a triple on the top of Tenengrad's peak (its middle image rated sharpest, by under 10 %) on a sample whose DeepFocus curve near focus is flatter than the calibration's: focus from the peak's vertex (the DeepFocus pair, which that shape biases, did not hold: the run was refused)", async () => {
    rig = await simulatedRig({ focusUm: -0.1 });
    const scope = rig.microscope;
    await rig.devices.stage.moveTo(-5.5);
    // Like 40×/NA 0.65 cells: DeepFocus reads well above the calibration's floor at focus and rises slowly; Tenengrad a narrow peak on a pedestal.
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(12 + 2 * Math.abs(scope.exposureDefocusUm(frame.timestampMs))) };
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(65 + 105 * peakAt("gaussian", scope.exposureDefocusUm(frame.timestampMs), 1)) };
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, { maxImages: 6, refineHalfSpanUm: 1 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [-5.5, -2.5, 2.5]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refined = await refine(run, matchAt(-0.5));
    // Tenengrad rates −0.5 6 % sharper than 0.5 (9 % above its pedestal): not decisive; DeepFocus brackets.
    expect(run.trace.map((p) => p.zUm)).toEqual([-5.5, -2.5, 2.5, -1.5, -0.5, 0.5]);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm! + 0.1), `→ ${refined.shiftUm}`).toBeLessThan(0.1);
  });

  it("DeepFocus flat at its floor within a DOF of focus (a sample read at twice the calibration's floor, optics that blur smoothly): Tenengrad decides by any lead, and the walk ends near focus instead of wandering on DeepFocus's noise", async () => {
    rig = await simulatedRig({ focusUm: 0.3 });
    const scope = rig.microscope;
    await rig.devices.stage.moveTo(-5);
    const floor = Math.min(...profileCurve(profile).b);
    // DeepFocus: 1.9× the calibration's floor within ±4.5 µm, a ripple of ±0.4 % (its noise) that reads lowest 2–3 µm beside focus; rising beyond.
    const b = (d: number) => 1.9 * floor * (1 + 0.004 * Math.sin(2.3 * d) + 0.05 * Math.max(0, Math.abs(d) - 4.5));
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(b(scope.exposureDefocusUm(frame.timestampMs))) };
    // Tenengrad: a broad, smooth peak (3–4 % down 3 µm out) on a pedestal.
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(0.02 + 0.014 * peakAt("gaussian", scope.exposureDefocusUm(frame.timestampMs), 8)) };
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, { maxImages: 10, refineHalfSpanUm: 3.25 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [-5, 0, 5]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refined = await refine(run, matchAt(-2));
    expect(refined.problem, `images at ${run.trace.map((p) => p.zUm.toFixed(2))}`).toBeNull();
    // The code before let DeepFocus lead the walk on its ripple and answered 0.67 µm off.
    expect(Math.abs(refined.shiftUm! - 0.3), `→ ${refined.shiftUm}`).toBeLessThan(0.1);
  });

  it("a walk that runs out of images where DeepFocus reads a false focus: images taken around it that Tenengrad does not rate decisively sharper are no bracket", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const scope = rig.microscope;
    // DeepFocus reads focus at 40.5 µm (a periodic sample's false floor); Tenengrad is flat there.
    const deepfocus: FocusScorer = { id: "deepfocus", higherIsSharper: false, score: async (frame: Frame) => tiles(syntheticB(scope.exposureDefocusUm(frame.timestampMs) - 40.5)) };
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async () => tiles(200) };
    const run = startRun({ ...rig.ctx, scorer: deepfocus }, profile, { maxImages: 6, refineHalfSpanUm: 4 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of [20, 60, 40.5]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const first = matchAt(44);
    const refined = await refine(run, first);
    expect(run.trace.map((p) => p.zUm)).toEqual([20, 60, 40.5, 40, 44, 48]);
    expect(refined.problem).toBe("unbracketed");
  });

  /** A 6-image refine after the search images `searchUm` from the first estimate `firstUm` (half-span 8 µm), with DeepFocus on `curve` and a Tenengrad peak of `shape` and width `peakWidthUm` at `peakUm`. */
  async function walkEnd(focusUm: number, searchUm: readonly number[], firstUm: number, peakUm: number, peakWidthUm: number, curve: { flatWithinUm?: number } = {}, shape: PeakShape = "gaussian") {
    rig = await simulatedRig({ focusUm }, curve);
    const scope = rig.microscope;
    await rig.devices.stage.moveTo(searchUm[0]);
    const tenengrad: FocusScorer = { id: "tenengrad", higherIsSharper: true, score: async (frame: Frame) => tiles(100 * peakAt(shape, scope.exposureDefocusUm(frame.timestampMs) + focusUm - peakUm, peakWidthUm)) };
    const run = startRun(rig.ctx, profile, { maxImages: 6, refineHalfSpanUm: 8 });
    run.ctx = { ...run.ctx, sharpness: tenengrad };
    for (const zUm of searchUm) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const first = matchAt(firstUm);
    const refined = await refine(run, first);
    return { refined, zsUm: run.trace.map((p) => p.zUm) };
  }

  it("a walk whose last step crosses focus and lands as near it beside a search image: both metrics call that image best, and its uneven neighbours bracket focus", async () => {
    const { refined, zsUm } = await walkEnd(0, [-40, -76, -3.8], 5.7, 0, 12);
    // The walk's triple −2.3, 5.7, 13.7 steps towards −2.3 with no images left; Tenengrad's lead of −2.3 over −3.8 is 3 %, within its noise.
    expect(zsUm).toEqual([-40, -76, -3.8, -2.3, 5.7, 13.7]);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm!), `→ ${refined.shiftUm}`).toBeLessThan(0.5);
  });

  it("a walk whose last step crosses focus and lands about as near it on the other side: the two images Tenengrad rates over twice as sharp as the rest bracket focus; where it rates one of them under half as sharp, focus may lie beyond that one, and the run refuses", async () => {
    const tie = await walkEnd(-0.5, [-40, 40, 76], 4, -0.5, 6);
    // The triple −4, 4, 12 steps towards −4 (3.5 µm from focus; 4 is 4.5 µm away) with no images left.
    expect(tie.zsUm).toEqual([-40, 40, 76, -4, 4, 12]);
    expect(tie.refined.problem).toBeNull();
    expect(Math.abs(tie.refined.shiftUm! + 0.5), `→ ${tie.refined.shiftUm}`).toBeLessThan(0.5);

    await rig?.devices.stop();
    // A periodic sample that DeepFocus reads flat within ±10 µm of focus at −6: it reads −4 and 4 alike, Tenengrad rates −4 far sharper.
    const beyond = await walkEnd(-6, [-40, 40, 76], 4, -6, 6, { flatWithinUm: 10 });
    // Tenengrad's Gaussian peak rates −4 3.8× sharper than 4 and steepens all the way out (12 → 40): the falloff tells nothing.
    expect(beyond.zsUm).toEqual([-40, 40, 76, -4, 4, 12]);
    expect(beyond.refined).toMatchObject({ problem: "unbracketed", shiftUm: null });
  });

  it("a walk that ends with the two images Tenengrad rates sharpest 2–4× apart: on a heavy-tailed peak whose falloff steepens beyond the weaker image, focus lies between them and is found; where the falloff flattens there, focus may lie beyond the sharper one and the run refuses", async () => {
    // Focus at −1: Tenengrad rates −4 2.2× sharper than 4, 4 6× sharper than 12, and the falloff flattens again out to 40.
    const between = await walkEnd(-1, [-40, 40, 76], 4, -1, 2, {}, "lorentzian");
    expect(between.zsUm).toEqual([-40, 40, 76, -4, 4, 12]);
    expect(between.refined.problem).toBeNull();
    expect(Math.abs(between.refined.shiftUm! + 1), `→ ${between.refined.shiftUm}`).toBeLessThan(1);

    await rig?.devices.stop();
    // Focus at −6 on a periodic sample DeepFocus reads flat there: −4 3.4× sharper than 4, but 4 only 2.6× sharper than 12.
    const beyond = await walkEnd(-6, [-40, 40, 76], 4, -6, 6, { flatWithinUm: 12 }, "lorentzian");
    expect(beyond.zsUm).toEqual([-40, 40, 76, -4, 4, 12]);
    expect(beyond.refined).toMatchObject({ problem: "unbracketed", shiftUm: null });
  });

  it("a wrong first estimate is not returned: the walk from it (each step reusing two images) ends with the budget's last image placed where the DeepFocus readings put focus, and that triple brackets true focus; where the sample reads flat, out-of-range, stage back at the start", async () => {
    const wrong = matchAt(67);
    const refinedOn = async (curve: { saturatesAtUm?: number }) => {
      await rig?.devices.stop();
      rig = await simulatedRig({ focusUm: 7 }, curve);
      await rig.devices.stage.moveTo(20);
      const run = startRun(rig.ctx, profile, { maxImages: 6, refineHalfSpanUm: 5 });
      return { run, refined: await refine(run, wrong) };
    };
    const { run, refined } = await refinedOn({});
    expect(run.trace.map((p) => p.zUm).slice(0, 5)).toEqual([62, 67, 72, 57, 52]);
    // A walk step would take 47; the last image (57 mirrored about the readings' focus, half a step farther) lies past true focus.
    expect(run.trace[5].zUm).toBeLessThan(7);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm! - 7)).toBeLessThan(0.5);

    const flat = await refinedOn({ saturatesAtUm: 30 });
    expect(flat.refined).toMatchObject({ problem: "unbracketed", shiftUm: null });
    const err = await guarded(flat.run, () => finish(flat.run, flat.refined, "deepfocus")).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/no images around the estimate bracketed focus/) });
    expect(rig!.devices.stage.positionUm()).toBe(20);
  });

  it("a first match far from where blur matching between the search images puts focus (a sample DeepFocus reads wrongly far out): with the optics' blur growth the refinement starts at the blur-matching estimate and finds focus; without it the walk from the match reaches focus only with the budget's last image", async () => {
    rig = await simulatedRig({ focusUm: 7 }, {}, { width: 256, height: 192 });
    const { objective, camera } = parseConfig({ camera: { kind: "simulated" } });
    const growth = blurGrowthPx2PerUm2Of(objective, camera.kind === "simulated" ? camera.pixelSizeUm : 0);
    const wrong = matchAt(80);
    const refinedWith = async (blurGrowthPx2PerUm2: number | undefined) => {
      await rig!.devices.stage.moveTo(60);
      const run = startRun(rig!.ctx, profile, { maxImages: 10, blurGrowthPx2PerUm2 });
      await probeAll(run.ctx, run.trace, run.t0Ms, [60, 24, 96]);
      return { refined: await refine(run, wrong), run };
    };
    // Without it the refinement walks from the wrong match: none of its images reaches focus until the budget's last
    // (placed from the DeepFocus readings, `lastWalkTriple`).
    const without = await refinedWith(undefined);
    const walk = without.run.trace.slice(3).map((p) => p.zUm);
    expect(walk).toHaveLength(7);
    expect(Math.min(...walk.slice(0, -1))).toBeGreaterThan(7 + 5);
    expect(walk[6]).toBeLessThan(7);
    expect(without.refined.problem).toBeNull();
    const { refined, run } = await refinedWith(growth);
    expect(refined.problem).toBeNull();
    expect(Math.abs(refined.shiftUm! - 7)).toBeLessThan(0.5);
    // The first refinement image lies near focus, not at the match 80 µm out.
    expect(Math.abs(run.trace[3].zUm - 7)).toBeLessThan(15);
  });

  it("empty slide: FocusNotFoundError('no-texture') with the stage back at the start", async () => {
    rig = await simulatedRig({ sample: "empty" });
    await rig.devices.stage.moveTo(17);
    const err = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 6 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FocusNotFoundError);
    expect(err).toMatchObject({ reason: "no-texture", message: expect.stringMatching(/empty or featureless/) });
    expect(rig.devices.stage.positionUm()).toBe(17);
  });

  it("empty slide with blur matching on: said so after the first three images, whatever the budget", async () => {
    const { objective, camera } = parseConfig({ camera: { kind: "simulated" } });
    const growth = blurGrowthPx2PerUm2Of(objective, camera.kind === "simulated" ? camera.pixelSizeUm : 0);
    for (const maxImages of [4, 5, 10]) {
      await rig?.devices.stop();
      rig = await simulatedRig({ sample: "empty" }, {}, { width: 256, height: 192 });
      await rig.devices.stage.moveTo(17);
      const trace: TracePoint[] = [];
      const err = await deepfocusAutofocus({ ...rig.ctx, onImage: (p: TracePoint) => trace.push(p) }, profile, { maxImages, blurGrowthPx2PerUm2: growth }).catch((e: unknown) => e);
      expect(err, `${maxImages} images`).toMatchObject({ reason: "no-texture", message: expect.stringMatching(/empty or featureless/) });
      expect(trace, `${maxImages} images`).toHaveLength(3);
      expect(rig.devices.stage.positionUm()).toBe(17);
    }
  });

  it("focus beyond the capture range: says so (out-of-range), does not guess, stage back at the start", async () => {
    rig = await simulatedRig({ focusUm: 300 });
    await rig.devices.stage.moveTo(0);
    const err = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FocusNotFoundError);
    expect(err).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/no focus found within the calibrated capture range.*Focus lies beyond that range/) });
    expect(rig.devices.stage.positionUm()).toBe(0);
  });

  it("fallback: when DeepFocus refuses with images left, Tenengrad on its images brackets focus, DeepFocus confirms it, and the result says so", async () => {
    // A sparse sample whose DeepFocus score stops rising 10 µm out: five far images, all alike to DeepFocus.
    rig = await simulatedRig({ focusUm: 7 }, { saturatesAtUm: 10 });
    await rig.devices.stage.moveTo(60);
    const run = startRun(rig.ctx, profile, { maxImages: 15 });
    for (const zUm of [60, 20, 100, 80, 40]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refusal = new FocusNotFoundError("no focus found within the calibrated capture range: …", "out-of-range");
    const r = await guarded(run, () => sharpnessFallback(run, refusal));
    expect(r.fallback).toEqual({ metric: "tenengrad", reason: refusal.message, confirmed: true });
    expect(Math.abs(rig.microscope.defocusUm()), `→ ${r.finalUm} in ${r.images} images`).toBeLessThan(0.3);
    // It stepped outward past the sharpest far image (20 µm) before bracketing: 20 − 1.618 × (40 − 20).
    expect(run.trace[5].zUm).toBeCloseTo(20 - 1.618034 * 20, 6);
    expect(r.images).toBe(run.trace.length);
    expect(r.images).toBeLessThanOrEqual(15);
    expect(r.tileFocusUm.filter((v) => v !== null).length).toBeGreaterThan(0);
  });

  it("the cross-check reads the pixels DeepFocus reads (its scorer's tileRegions): objects outside the ROI tiles that DeepFocus's windows see count for it too", async () => {
    rig = await simulatedRig({ focusUm: 0 });
    const base = rig.ctx.scorer;
    const wholeFrame = (f: { width: number; height: number }, roi: Roi) => roiTiles(f.width, f.height, roi).map(() => [{ x: 0, y: 0, width: f.width, height: f.height }]);
    const scorer: FocusScorer = { id: base.id, higherIsSharper: base.higherIsSharper, score: (f, roi) => base.score(f, roi), tileRegions: wholeFrame };
    const run = startRun({ ...rig.ctx, scorer }, profile, { maxImages: 10 });
    const frame = await rig.devices.camera.grab();
    const onRegions = await createClassicalScorer("tenengrad", wholeFrame).score(frame, rig.ctx.roi);
    expect(await run.ctx.sharpness!.score(frame, rig.ctx.roi)).toEqual(onRegions);
    expect(onRegions.score).not.toBeCloseTo((await createClassicalScorer("tenengrad").score(frame, rig.ctx.roi)).score, 6);
    // Without tileRegions (a scorer that reads the tiles) the cross-check reads the tiles.
    expect(await startRun(rig.ctx, profile, { maxImages: 10 }).ctx.sharpness!.score(frame, rig.ctx.roi)).toEqual(await createClassicalScorer("tenengrad").score(frame, rig.ctx.roi));
  });

  it("fallback: a sample reading 4× the calibration's floor, whose focus DeepFocus cannot confirm, is answered at Tenengrad's own clear peak, marked unconfirmed", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { gain: 4 });
    await rig.devices.stage.moveTo(27);
    const r = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10 });
    expect(r.fallback).toMatchObject({ metric: "tenengrad", confirmed: false, reason: expect.stringMatching(/^DeepFocus reads [\d.]+ px at z=[\d.]+ µm, [\d.]+× what the calibration expects/) });
    expect(Math.abs(rig.microscope.defocusUm()), `→ ${r.finalUm} in ${r.images} images`).toBeLessThan(1);
    expect(r.tileFocusUm.every((v) => v === null)).toBe(true);
  });

  it("fallback: from three images far out whose Tenengrad peak it cannot yet judge, it adds images (outward, into the gap beside the sharpest) until it can, and finds focus", async () => {
    rig = await simulatedRig({ focusUm: 7 }, { saturatesAtUm: 10 });
    await rig.devices.stage.moveTo(60);
    const run = startRun(rig.ctx, profile, { maxImages: 15 });
    for (const zUm of [60, 20, 100]) await probe(run.ctx, run.trace, run.t0Ms, zUm);
    const refusal = new FocusNotFoundError("no focus found within the calibrated capture range: …", "out-of-range");
    const r = await guarded(run, () => sharpnessFallback(run, refusal));
    expect(r.fallback).toMatchObject({ metric: "tenengrad" });
    expect(Math.abs(rig.microscope.defocusUm()), `→ ${r.finalUm} in ${r.images} images`).toBeLessThan(0.3);
    expect(r.images).toBeLessThanOrEqual(15);
  });

  it("fallback does not guess: too few images, sharpest at the stage limit, or out of budget → the DeepFocus refusal with what it found, stage back at the start", async () => {
    const refusal = new FocusNotFoundError("no focus found within the calibrated capture range: …", "out-of-range");
    const attempt = async (focusUm: number, startUm: number, zsUm: number[], maxImages: number) => {
      await rig?.devices.stop();
      rig = await simulatedRig({ focusUm }, { saturatesAtUm: 10 });
      await rig.devices.stage.moveTo(startUm);
      const run = startRun(rig.ctx, profile, { maxImages });
      for (const zUm of zsUm) await probe(run.ctx, run.trace, run.t0Ms, zUm);
      const err = await guarded(run, () => sharpnessFallback(run, refusal)).catch((e: unknown) => e);
      expect(rig.devices.stage.positionUm()).toBe(startUm);
      expect(err).toBeInstanceOf(FocusNotFoundError);
      expect(err).toMatchObject({ reason: "out-of-range" });
      return (err as Error).message;
    };
    expect(await attempt(7, 60, [60, 20, 100], 4)).toMatch(/^no focus found within .*; tenengrad on the same images has too few images \(4\) to tell a focus peak from noise, and it has too few images \(4\) for a peak of its own$/);
    // Focus 20 µm beyond the stage's upper limit (500 µm): Tenengrad still rises towards it.
    expect(await attempt(520, 440, [440, 400, 480, 460, 420], 20)).toMatch(/; tenengrad on the same images is sharpest at the stage limit$/);
    // Out of budget: no bracket, or one too coarse for Tenengrad's own peak to answer.
    expect(await attempt(7, 60, [60, 20, 100, 80, 40], 7)).toMatch(/; tenengrad on the same images (found no bracket of focus within the budget of 7 images|peaked near .* but no image triple there confirmed focus within the budget of 7 images, and it has no images within [\d.]+ µm \(FWHM\/4\) each side of its sharpest one)$/);
    expect(await attempt(7, 60, [60, 20, 100], 3)).toMatch(/; tenengrad on the same images found no bracket of focus within the budget of 3 images$/);
  });

  it("an answer where DeepFocus reads far from focus is refused (Tenengrad rates another image ≥ 10 % sharper, or nothing sharper was taken); near the DeepFocus floor, an image elsewhere that both metrics rate as sharp or sharper does, and so does one both read near focus that Tenengrad rates 2× sharper", async () => {
    const answerAt = (curve: { saturatesAtUm?: number; flatWithinUm?: number }, zsUm: number[], targetUm: number) => answerAfter(7, curve, zsUm, targetUm);
    // A texture that reads "almost sharp" (3.5× the floor) everywhere beyond 10 µm: a triple 57 µm out bracketed noise.
    const refused = await answerAt({ saturatesAtUm: 10 }, [64, 60, 68, 30], 64);
    expect(refused).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/not where the images are sharpest: tenengrad rates the image at z=30\.0 µm \d+ % sharper/) });
    expect(rig!.devices.stage.positionUm()).toBe(64);
    // The same texture with no sharper image taken: the answer's nearest image reads 3.5× the calibration's floor — a flat stretch, not focus.
    const flat = await answerAt({ saturatesAtUm: 10 }, [64, 60, 68], 64);
    expect(flat).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^DeepFocus reads [\d.]+ px at z=64\.0 µm, [\d.]+× what the calibration expects .* a flat stretch of the curve far from focus/) });
    // DeepFocus at its floor there (a curve flat for ±40 µm) with only nearby images: a modest Tenengrad lead may be a false one, so the answer stands…
    const kept = await answerAt({ flatWithinUm: 40 }, [44, 40, 48, 36], 44);
    expect(kept).toMatchObject({ method: "deepfocus", finalUm: 44 });
    // …but an image far off that DeepFocus reads as sharp and Tenengrad sharper makes it a guess (a periodic sample's false focus)…
    // (Far out, where Tenengrad rates the image at 64 µm 35 % sharper than the one at 84.)
    const overruled = await answerAt({ flatWithinUm: 100 }, [84, 80, 88, 64], 84);
    expect(overruled).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^the estimate z=84\.00 µm is not distinguishable from z=64\.0 µm/) });
    // …and one DeepFocus reads near its floor too that Tenengrad rates over 2× sharper is where focus is (dust shadows read "in focus" far out).
    const dusty = await answerAt({ flatWithinUm: 40 }, [44, 40, 48, 12], 44);
    expect(dusty).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^the estimate z=44\.00 µm is not where the images are sharpest: tenengrad rates the image at z=12\.0 µm \d+ % sharper.*DeepFocus reads the images near the estimate as nearly in focus: .* dust on the camera window/) });
    // Tenengrad's lead alone does not overrule there when DeepFocus reads its sharpest image far from focus (a false gradient peak): see the false-peak tests above.
  });

  it("an answer where DeepFocus reads far under the calibration's floor (camera stripes or hot pixels, not the sample) is refused; a sample reading 0.6× the floor is answered", async () => {
    const answerAt = (gain: number) => answerAfter(7, { gain }, [20, 7, 9, 5], 7);
    const refused = await answerAt(0.3);
    expect(refused).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^DeepFocus reads [\d.]+ px at z=7\.0 µm, under 0\.4 × the calibration's in-focus [\d.]+ px: structure finer than the optics resolve/) });
    expect(rig!.devices.stage.positionUm()).toBe(20);
    expect(await answerAt(0.6)).toMatchObject({ method: "deepfocus", finalUm: 7 });
  });

  it("an answer is refused when an image half the calibration's FWHM or more from it also reads as in focus (JPEG blocks, a camera's pattern); nearer such images are a sample's wide focus", async () => {
    const fwhm = profile.fwhmUm;
    const answerAt = (flatWithinUm: number, farUm: number) => answerAfter(7, { flatWithinUm }, [20, 7, 9, 5, 7 + farUm], 7);
    const refused = await answerAt(2 * fwhm, 0.6 * fwhm);
    expect(refused).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^DeepFocus reads the image at z=[\d.]+ µm, [\d.]+ µm from the estimate z=7\.00 µm, as in focus .* under 1\.5 × the calibration's in-focus/) });
    expect(rig!.devices.stage.positionUm()).toBe(20);
    expect(await answerAt(0.45 * fwhm, 0.45 * fwhm)).toMatchObject({ method: "deepfocus", finalUm: 7 });
    expect(await answerAt(0, 0.6 * fwhm)).toMatchObject({ method: "deepfocus", finalUm: 7 });
  });

  it("an answer within FWHM/16 of a stage limit is refused (no image beyond it confirms a minimum), stage back at the start; one farther inside is answered", async () => {
    const edgeUm = profile.fwhmUm / 16;
    const answerAt = (focusUm: number) => answerAfter(focusUm, {}, [470, focusUm - 2, focusUm, Math.min(500, focusUm + 2)], focusUm);
    const refused = await answerAt(500 - edgeUm / 2);
    expect(refused).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/^estimated focus z=[\d.]+ µm lies within [\d.]+ µm \(FWHM\/16\) of the stage's soft limit 500 µm/) });
    expect(rig!.devices.stage.positionUm()).toBe(470);
    expect(await answerAt(500 - 2 * edgeUm)).toMatchObject({ method: "deepfocus", finalUm: 500 - 2 * edgeUm });
  });

  it("cancellation mid-run stops with CanceledError and leaves a consistent stage", async () => {
    rig = await simulatedRig();
    const controller = new AbortController();
    let images = 0;
    await rig.devices.stage.moveTo(60);
    const ctx = { ...rig.ctx, signal: controller.signal, onImage: () => ++images === 2 && controller.abort("cancelled by user") };
    await expect(deepfocusAutofocus(ctx, profile, { maxImages: 10 })).rejects.toBeInstanceOf(CanceledError);
    expect(images).toBe(2);
    const here = rig.devices.stage.positionUm();
    expect(Number.isFinite(here)).toBe(true);
    await rig.devices.stage.moveTo(here - 5);
    expect(rig.devices.stage.positionUm()).toBeCloseTo(here - 5, 6);
    expect(Math.abs(rig.microscope.physicalZUm() - (here - 5))).toBeLessThan(0.3);
  });
});

describe("DeepFocus under the station's operation lock", () => {
  it("cancel mid-run: the station is idle again and the stage consistent", async () => {
    let images = 0;
    let scope: SimulatedMicroscope | undefined;
    const station = await simulatedStation(
      { camera: { kind: "simulated", width: 64, height: 48 } },
      {
        autofocusMethods: {
          deepfocus: (ctx) => {
            const scorer = new SyntheticDeepFocusScorer({ defocusUm: (frame) => scope!.exposureDefocusUm(frame.timestampMs) });
            return deepfocusAutofocus({ ...ctx, scorer, onImage: () => ++images === 2 && void station.cancel() }, profile, { maxImages: 10 });
          },
        },
      },
    );
    scope = station.devices.microscope as SimulatedMicroscope;
    try {
      await station.move(70);
      await expect(station.autofocus({ method: "deepfocus" })).rejects.toBeInstanceOf(CanceledError);
      expect(images).toBe(2);
      expect(station.status()).toMatchObject({ state: "idle", operation: null, lastError: null });
      const here = station.status().positionUm;
      await station.move(here + 1);
      expect(station.status().positionUm).toBeCloseTo(here + 1, 6);
    } finally {
      await station.stop();
    }
  });
});
