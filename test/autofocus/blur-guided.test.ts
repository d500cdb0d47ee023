import { afterEach, describe, expect, it } from "vitest";
import { blurGrowthWarning, deepfocusAutofocus, runBlurGrowth, searchAnswer, searchImages, startRun } from "../../src/autofocus/deepfocus.js";
import { probeAll } from "../../src/autofocus/probe.js";
import { refine } from "../../src/autofocus/refine.js";
import { blurConfirmed, blurDisputes, blurMatchStart } from "../../src/autofocus/blur-guided.js";
import { sharpestLead } from "../../src/autofocus/cross-check.js";
import { nextGoldenPoint } from "../../src/autofocus/bracket.js";
import type { TracePoint } from "../../src/autofocus/types.js";
import { parseConfig } from "../../src/config/load.js";
import { FocusNotFoundError } from "../../src/errors.js";
import { blurGrowthPx2PerUm2Of } from "../../src/focus/blur-match.js";
import { coneTan } from "../../src/optics/psf.js";
import { matchAt, syntheticProfile } from "./synthetic.js";
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

/** A run of `maxImages` from `startUm` on a sample DeepFocus reads flat beyond 30 µm from focus: its result or the error, and its images. */
async function runFrom(startUm: number, maxImages: number, blurGrowthPx2PerUm2: number | undefined, withProfile = profile): Promise<{ outcome: unknown; trace: TracePoint[] }> {
  await rig?.devices.stop();
  rig = await simulatedRig({ focusUm: FOCUS_UM }, { saturatesAtUm: 30 }, FRAME);
  await rig.devices.stage.moveTo(startUm);
  const trace: TracePoint[] = [];
  const ctx = { ...rig.ctx, onImage: (p: TracePoint) => trace.push(p) };
  const outcome = await deepfocusAutofocus(ctx, withProfile, { maxImages, blurGrowthPx2PerUm2 }).catch((e: unknown) => e);
  return { outcome, trace };
}

/** A 7-image run on the rig from FOCUS_UM + `offsetUm` with blur growth `k`: its result, images and a label naming them. */
async function sevenImagesFrom(offsetUm: number, k: number): Promise<{ images: number; trace: TracePoint[]; where: string }> {
  await rig!.devices.stage.moveTo(FOCUS_UM + offsetUm);
  const trace: TracePoint[] = [];
  const outcome = await deepfocusAutofocus({ ...rig!.ctx, onImage: (p: TracePoint) => trace.push(p) }, profile, { maxImages: 7, blurGrowthPx2PerUm2: k });
  return { images: outcome.images, trace, where: `from ${offsetUm}: images at ${trace.map((p) => p.zUm.toFixed(2))}` };
}

describe("blur-guided images of 4- and 5-image runs (a sample DeepFocus reads flat from 30 µm out)", () => {
  it("5 images: the last two straddle where blur matching puts focus, 2h apart, and their pair finds focus; without blur growth the run cannot", async () => {
    expect(growth).toBeGreaterThan(0);
    const h = profile.fwhmUm / 8;
    for (const startUm of [-63, 77]) {
      const { outcome, trace } = await runFrom(startUm, 5, growth);
      expect(trace).toHaveLength(5);
      const [lo, hi] = [trace[3].zUm, trace[4].zUm];
      expect(hi - lo).toBeCloseTo(2 * h, 6);
      expect(lo).toBeLessThan(FOCUS_UM);
      expect(hi).toBeGreaterThan(FOCUS_UM);
      expect(outcome).not.toBeInstanceOf(Error);
      expect(Math.abs(rig!.microscope.defocusUm()), `from ${startUm}: images at ${trace.map((p) => p.zUm.toFixed(1))}`).toBeLessThan(0.5);

      const without = await runFrom(startUm, 5, undefined);
      const missed = without.outcome instanceof FocusNotFoundError || Math.abs(rig!.microscope.defocusUm()) > 2;
      expect(missed, `without blur growth from ${startUm}`).toBe(true);
    }
  });

  it("5 images with the calibration's measured k: used without the optics' k and instead of one far off, not instead of one that agrees", async () => {
    const withOptics = await runFrom(77, 5, growth);
    const measuredOnly = await runFrom(77, 5, undefined, { ...profile, blurGrowthPx2PerUm2: growth });
    expect(measuredOnly.trace.map((p) => p.zUm)).toEqual(withOptics.trace.map((p) => p.zUm));
    expect(measuredOnly.outcome).not.toBeInstanceOf(Error);
    expect(Math.abs(rig!.microscope.defocusUm())).toBeLessThan(0.5);
    // Optics configured wrong (a 4× objective for a 10× one, k 1/6 of the truth): the measured k places the images.
    const misconfigured = await runFrom(77, 5, growth / 6, { ...profile, blurGrowthPx2PerUm2: growth });
    expect(misconfigured.trace.map((p) => p.zUm)).toEqual(withOptics.trace.map((p) => p.zUm));
    // A measured k 20 % off the optics': the optics' k places them.
    const agreeing = await runFrom(77, 5, growth, { ...profile, blurGrowthPx2PerUm2: 1.2 * growth });
    expect(agreeing.trace.map((p) => p.zUm)).toEqual(withOptics.trace.map((p) => p.zUm));
    expect((await runFrom(77, 5, 1.2 * growth)).trace.map((p) => p.zUm)).not.toEqual(withOptics.trace.map((p) => p.zUm));
  });

  it("which k a run takes: the optics' within 1.5× of the measured one (either way), else the measured one; whichever there is; a warning exactly when the optics' is not taken", () => {
    expect(runBlurGrowth(1, 1.5)).toBe(1.5);
    expect(runBlurGrowth(1, 1 / 1.5)).toBe(1 / 1.5);
    expect(runBlurGrowth(1, 1.51)).toBe(1);
    expect(runBlurGrowth(1, 0.66)).toBe(1);
    expect(runBlurGrowth(undefined, 2)).toBe(2);
    expect(runBlurGrowth(2, undefined)).toBe(2);
    expect(runBlurGrowth(undefined, undefined)).toBeUndefined();
    // The warning compares the measured k with what a defocused pupil gives (pupilGrowthFactor), not the disc's k.
    const air = { ...objective, na: 0.3, immersionIndex: 1 };
    /** Optics of `objective` whose disc's k (`blurGrowthPx2PerUm2Of`) is `k`. */
    const opticsWithK = (o: typeof objective, k: number) => ({ objective: o, cameraPixelUm: (coneTan(o) * o.magnification) / (2 * Math.sqrt(k)) });
    expect(blurGrowthWarning(1, opticsWithK(air, 1.5))).toBeNull();
    expect(blurGrowthWarning(undefined, opticsWithK(air, 4))).toBeNull();
    expect(blurGrowthWarning(4, undefined)).toBeNull();
    expect(blurGrowthWarning(1, opticsWithK(air, 4))).toMatch(/^the sweep's defocus blur grows 0\.51× as fast/);
    // 60×/NA 1.4 in oil on 3.45-µm pixels, correctly configured: the simulator's sweep measured 145 px²/µm² where the disc's k is 442 — no warning (the run takes the measured k).
    const oil = { objective: { ...objective, magnification: 60, na: 1.4, immersionIndex: 1.515 }, cameraPixelUm: 3.45 };
    expect(blurGrowthPx2PerUm2Of(oil.objective, oil.cameraPixelUm)).toBeCloseTo(442.1, 1);
    expect(blurGrowthWarning(145.1, oil)).toBeNull();
    expect(runBlurGrowth(145.1, 442.1)).toBe(145.1);
    expect(blurGrowthWarning(145.1 / 4, oil)).toMatch(/grows 0\.4\d× as fast/);
  });

  it("4 images: the last mirrors about the blur-matching focus the first triple's image nearest it, and that pair finds focus", async () => {
    const { outcome, trace } = await runFrom(-23, 4, growth);
    expect(trace).toHaveLength(4);
    const nearest = trace.slice(0, 3).reduce((a, b) => (Math.abs(b.zUm - FOCUS_UM) < Math.abs(a.zUm - FOCUS_UM) ? b : a));
    // The mirror pair is even about focus to within blur matching's error.
    expect(Math.abs((nearest.zUm + trace[3].zUm) / 2 - FOCUS_UM)).toBeLessThan(3);
    expect(outcome).not.toBeInstanceOf(Error);
    expect(Math.abs(rig!.microscope.defocusUm())).toBeLessThan(0.5);
  });

  it("4 images with focus farther than the first spacing from every image of the triple: the search takes no fourth image and refuses (unbracketed), stage back at the start", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, { saturatesAtUm: 30 }, FRAME);
    await rig.devices.stage.moveTo(-140);
    const run = startRun(rig.ctx, profile, { maxImages: 4, blurGrowthPx2PerUm2: growth });
    await searchImages(run, -140);
    expect(run.trace).toHaveLength(3);
    expect(run.blurGuided).toMatchObject({ pair: null });
    expect(Math.abs(run.blurGuided!.blurFocusUm - FOCUS_UM)).toBeLessThan(40);
    expect(await searchAnswer(run)).toMatchObject({ problem: "unbracketed", shiftUm: null });
    const { outcome } = await runFrom(-140, 4, growth);
    expect(outcome).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/a pair about where blur matching puts focus/) });
    expect(rig!.devices.stage.positionUm()).toBe(-140);
  });

  it("the refinement starts where blur matching puts focus, not at a first match 12 µm off — with room for two triples (10 images) at an image Tenengrad rates over twice as sharp as the others instead, with one (6) not", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    const first = matchAt(FOCUS_UM + 12);
    const refinementImages = async (maxImages: number, tripleUm: number[]) => {
      await rig!.devices.stage.moveTo(tripleUm[0]);
      const run = startRun(rig!.ctx, profile, { maxImages, blurGrowthPx2PerUm2: growth });
      await probeAll(run.ctx, run.trace, run.t0Ms, tripleUm);
      const lead = sharpestLead(run.trace);
      await refine(run, first);
      return { zUm: run.trace.slice(3).map((p) => p.zUm), lead };
    };
    // From 90 µm out no image leads by 2×: blur matching's focus (the middle of the first triple's three new images).
    for (const maxImages of [6, 10]) {
      const { zUm, lead } = await refinementImages(maxImages, [-83, -123, -43]);
      expect(lead).toBeLessThan(Math.LN2);
      expect(Math.abs(zUm[1] - FOCUS_UM), `${maxImages} images: ${zUm.map((z) => z.toFixed(1))}`).toBeLessThan(5);
    }
    // The image 10 µm from focus leads by over 2×: 6 images still start at blur matching's focus, 10 at that image (its two new neighbours straddle it).
    const six = await refinementImages(6, [-23, -63, 17]);
    expect(six.lead).toBeGreaterThan(Math.LN2);
    expect(Math.abs(six.zUm[1] - FOCUS_UM)).toBeLessThan(4);
    const ten = await refinementImages(10, [-23, -63, 17]);
    expect((ten.zUm[0] + ten.zUm[1]) / 2).toBeCloseTo(17, 6);
  });
});

describe("where the refinement starts when DeepFocus has no first match", () => {
  const refused = { shiftUm: null, tileShiftsUm: new Array(9).fill(null), validTiles: 9, inlierTiles: 0, rmsResidual: 0.1, uncertaintyUm: 0, problem: "edge" as const };
  it("at blur matching's focus, not at the image the cross-check rates sharpest, when the two lie more than half the first spacing apart", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, { saturatesAtUm: 30 }, FRAME);
    await rig.devices.stage.moveTo(FOCUS_UM + 90);
    const run = startRun(rig.ctx, profile, { maxImages: 10, blurGrowthPx2PerUm2: growth });
    await probeAll(run.ctx, run.trace, run.t0Ms, [90, 50, 130].map((d) => FOCUS_UM + d));
    // The cross-check rates the image 50 µm out decisively sharper than the other two: focus seems within its reach.
    const [far, near, farther] = run.trace.map((p) => p.sharpness!);
    expect(Math.log(near / Math.max(far, farther))).toBeGreaterThan(0.1);
    await refine(run, refused);
    expect(Math.abs(run.trace[4].zUm - FOCUS_UM), `refinement images at ${run.trace.slice(3).map((p) => p.zUm.toFixed(1))}`).toBeLessThan(15);
  });

  it("at the sharpest image when the cross-check rates it over twice as sharp as the others, even where blur matching misreads focus far from it", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    await rig.devices.stage.moveTo(FOCUS_UM + 8);
    // A blur growth 4× too low makes blur matching read focus about 30 µm below the triple, as it misreads a periodic sample.
    const run = startRun(rig.ctx, profile, { maxImages: 10, blurGrowthPx2PerUm2: growth! / 4 });
    const startsUm = [8, -32, 48].map((d) => FOCUS_UM + d);
    await probeAll(run.ctx, run.trace, run.t0Ms, startsUm);
    expect(blurDisputes(run, startsUm[0])).not.toBeNull();
    const [near, ...far] = run.trace.map((p) => p.sharpness!);
    expect(near / Math.max(...far)).toBeGreaterThan(2);
    await refine(run, refused);
    // The first refinement triple is centred on the sharpest image (reused): its two new images straddle it.
    expect((run.trace[3].zUm + run.trace[4].zUm) / 2).toBeCloseTo(startsUm[0], 6);
  });
});

describe("blur matching against a false DeepFocus minimum (a sample that reads sharper again farther out)", () => {
  it("10 images from 130 µm out: the search takes no golden-section image away from where blur matching puts focus, and the run finds focus", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, { falseMinimumUm: 230 }, FRAME);
    const startUm = FOCUS_UM + 130;
    await rig.devices.stage.moveTo(startUm);
    const run = startRun(rig.ctx, profile, { maxImages: 10, blurGrowthPx2PerUm2: growth });
    await searchImages(run, startUm);
    expect(run.trace).toHaveLength(3);
    // DeepFocus reads the farthest image lowest, so the golden-section step would have gone farther out.
    const { minUm, maxUm } = rig.devices.stage.options;
    expect(nextGoldenPoint(run.trace, minUm, maxUm)).toBeGreaterThan(Math.max(...run.trace.map((p) => p.zUm)));

    await rig.devices.stage.moveTo(startUm);
    const trace: TracePoint[] = [];
    const outcome = await deepfocusAutofocus({ ...rig.ctx, onImage: (p: TracePoint) => trace.push(p) }, profile, { maxImages: 10, blurGrowthPx2PerUm2: growth });
    expect(outcome.images).toBeLessThanOrEqual(10);
    expect(Math.abs(rig.microscope.defocusUm()), `images at ${trace.map((p) => p.zUm.toFixed(1))}`).toBeLessThan(0.5);
    expect(Math.max(...trace.slice(3).map((p) => p.zUm))).toBeLessThan(startUm);
  });
});

describe("the search leaves a false DeepFocus minimum to the refinement when the cross-check sees focus near an image", () => {
  it("ends after the first triple when Tenengrad rates one image over twice as sharp as the others; without the cross-check a golden-section image goes away from focus", async () => {
    // DeepFocus reads the image 80 µm out nearly as sharp as the one at focus (a second minimum 90 µm out).
    rig = await simulatedRig({ focusUm: FOCUS_UM }, { falseMinimumUm: 90 }, FRAME);
    const startUm = FOCUS_UM + 40;
    const searched = async (crossCheck: null | undefined) => {
      await rig!.devices.stage.moveTo(startUm);
      const run = startRun(rig!.ctx, profile, { maxImages: 10, crossCheck });
      await searchImages(run, startUm);
      return run.trace;
    };
    const byZ = (points: readonly TracePoint[]) => [...points].sort((p, q) => p.zUm - q.zUm);
    const trace = await searched(undefined);
    expect(trace).toHaveLength(3);
    // The lowest of the three lies nearest focus.
    const [lo, mid, hi] = byZ(trace);
    expect(lo.sharpness! / Math.max(mid.sharpness!, hi.sharpness!)).toBeGreaterThan(2);
    const without = await searched(null);
    expect(without.length).toBeGreaterThan(3);
    expect(Math.abs(without[3].zUm - FOCUS_UM)).toBeGreaterThan(Math.abs(byZ(without.slice(0, 3))[0].zUm - FOCUS_UM) + 40);

    await rig.devices.stage.moveTo(startUm);
    await deepfocusAutofocus(rig.ctx, profile, { maxImages: 10 });
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(0.5);
  });
});

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
      const { images, trace, where } = await sevenImagesFrom(offsetUm, growth);
      expect(images, where).toBe(7);
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

  it("7 images, blur matching 30 % too far (its k 0.6× the optics'): the last image completes a bracket where DeepFocus's readings put focus, not one half-span past the walk's nearest image", async () => {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    const h = profile.fwhmUm / 8;
    for (const offsetUm of [-90, 90]) {
      const { images, trace, where } = await sevenImagesFrom(offsetUm, 0.6 * growth);
      expect(images, where).toBe(7);
      // The refinement triple lies beyond focus on the far side of the start: blur matching overshot by more than the triple's reach.
      const triple = trace.slice(3, 6).map((p) => p.zUm - FOCUS_UM);
      expect(Math.min(...triple.map((d) => d * -Math.sign(offsetUm))), where).toBeGreaterThan(h / 2);
      // The last image lies past focus again, farther from the triple's nearest image than a walk step.
      const last = trace[6].zUm - FOCUS_UM;
      expect(last * -Math.sign(offsetUm), where).toBeLessThan(0);
      const nearest = triple.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a));
      expect(Math.abs(last - nearest), where).toBeGreaterThan(1.5 * h);
      expect(Math.abs(rig.microscope.defocusUm()), where).toBeLessThan(0.5);
    }
  });
});

describe("3-image runs: DeepFocus's answer checked against blur matching between the same images", () => {
  /** A run's first triple about FOCUS_UM + `offsetUm`, taken with blur growth `k`. */
  async function tripleRun(offsetUm: number, k: number | undefined) {
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    const startUm = FOCUS_UM + offsetUm;
    await rig.devices.stage.moveTo(startUm);
    const run = startRun(rig.ctx, profile, { maxImages: 3, blurGrowthPx2PerUm2: k });
    await searchImages(run, startUm);
    return run;
  }

  it("refuses a match more than FWHM/8 from blur matching's focus, answers the mean of the two within it, and leaves a match alone without blur growth or with more images", async () => {
    const run = await tripleRun(-40, growth);
    expect(run.trace).toHaveLength(3);
    const blurUm = blurMatchStart(run)!;
    expect(Math.abs(blurUm - FOCUS_UM)).toBeLessThan(3);
    const h = profile.fwhmUm / 8;
    expect(blurConfirmed(run, matchAt(blurUm + 1.2 * h))).toMatchObject({ problem: "disputed", shiftUm: null });
    const near = blurConfirmed(run, matchAt(blurUm - 0.5 * h));
    expect(near.problem).toBeNull();
    expect(near.shiftUm).toBeCloseTo(blurUm - 0.25 * h, 6);
    expect(near.uncertaintyUm).toBeCloseTo(0.25 * h, 6);

    const noGrowth = await tripleRun(-40, undefined);
    expect(blurConfirmed(noGrowth, matchAt(FOCUS_UM + 2 * h))).toEqual(matchAt(FOCUS_UM + 2 * h));
    await probeAll(run.ctx, run.trace, run.t0Ms, [FOCUS_UM]);
    expect(blurConfirmed(run, matchAt(blurUm + 2 * h))).toEqual(matchAt(blurUm + 2 * h));
  });

  it("a 3-image run whose blur matching misreads focus (k 4× too low) refuses and says why, stage back at the start; with the right k it focuses", async () => {
    const startUm = FOCUS_UM - 40;
    rig = await simulatedRig({ focusUm: FOCUS_UM }, {}, FRAME);
    await rig.devices.stage.moveTo(startUm);
    const wrong = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3, blurGrowthPx2PerUm2: growth / 4 }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ reason: "out-of-range", message: expect.stringMatching(/blur matching between them put focus more than FWHM\/8 apart/) });
    expect(rig.devices.stage.positionUm()).toBe(startUm);
    const right = await deepfocusAutofocus(rig.ctx, profile, { maxImages: 3, blurGrowthPx2PerUm2: growth });
    expect(right.images).toBe(3);
    expect(Math.abs(rig.microscope.defocusUm())).toBeLessThan(2);
  });
});
