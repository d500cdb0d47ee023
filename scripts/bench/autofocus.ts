import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquirePlanes, calibrateSweeps, calibrationSweep, defaultProfileName, defaultProfilePath, profileCurve, saveProfile, type CalibrationProfile } from "../../src/autofocus/calibration.js";
import { BLUR_MATCH_IMAGES, DEFAULT_CROSS_CHECK, profileScorer } from "../../src/autofocus/deepfocus.js";
import { classicalRunner, createScorerForMethod, deepfocusRunner, evaluate, parseStarts, resolveCalibration, type AutofocusRunner, type EvalReport, type MethodScorer } from "../../src/autofocus/evaluate.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config, ConfigInput, SimulatedCameraConfig } from "../../src/config/schema.js";
import { blurMatchFocusUm, blurThumb } from "../../src/focus/blur-match.js";
import { matchField, validTileScores } from "../../src/focus/calibration-match.js";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import { median } from "../../src/focus/stats.js";
import type { Camera, Frame } from "../../src/hardware/camera/types.js";
import { RealClock, VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { readStack, StackWriter, type ZStack } from "../../src/hardware/zstack.js";
import { depthOfFieldUm } from "../../src/optics/dof.js";
import { HELDOUT_TEXTURES, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import type { PsfModelId } from "../../src/optics/psf-models.js";
import { Rng } from "../../src/optics/rng.js";
import { createStation } from "../../src/station/deepfocus.js";
import { recordStack } from "../../src/station/record-stack.js";
import { heldoutCurves, renderHeldoutStacks, type HeldoutStackSpec } from "./invariance.js";
import { mean, printTable, sd } from "./table.js";

/**
 * The DeepFocus paper's Fig. 4 re-measured (issue 4, item 5), plus AF wall and compute time.
 *
 * 1. Error vs images: held-out stacks (held-out textures × held-out PSF models, imaged by
 *    invariance.ts's renderHeldoutStacks at 10×/NA 0.3), written once as real stack directories
 *    with a known focusUm and replayed through `evaluate` — the code behind `focusbox eval-af` —
 *    for DeepFocus (calibrated on a separate stack of a training-like simulator slide, as
 *    `focusbox stack simulate` + `eval-af --calibration STACK` would) and for Tenengrad and HPF
 *    with eval-af's Brent runner, each with image budgets N. Each stack's focus lies at a seeded
 *    offset from its centre, so no search grid lands on focus by construction.
 *    A budget "reaches" an error target when the mean |error| is at or below it with no failures.
 * 2. AF wall time: the appliance's station on the default simulator (512×384 at 30 fps, simulated
 *    stage with speed, acceleration, settle and slack, backlash compensation) with a RealClock,
 *    DeepFocus (profile from a live calibration on the simulator) and Tenengrad + Brent (config
 *    defaults) from a few starts. The simulator renders each frame on the CPU inside the grab;
 *    that render time is reported separately (a real camera does not spend it).
 * 3. Compute per DeepFocus AF over the runs of part 1: each run's frames scored again after
 *    the run, one after another (window extraction + CNN, and the Tenengrad cross-check), plus
 *    the Δz match on them.
 */
export interface AutofocusBenchOptions {
  /** Smaller run: 2-µm planes, starts every 20 µm, fewer budgets and simulator runs. */
  quick?: boolean;
  textures?: readonly HeldoutTexture[];
  /** Held-out PSF models. Default gaussian and born-wolf. */
  psfModels?: readonly PsfModelId[];
  /** Held-out slide seed; it seeds the stacks' focus offsets too. Default 1 (another seed is a second held-out set). */
  slideSeed?: number;
  /** Stack z half-range around the stack centre (µm). Default 150. */
  zHalfRangeUm?: number;
  /** Plane spacing (µm). Default 1 (2 when quick). */
  zStepUm?: number;
  /** Offset of a stack's focus from its centre: seeded, |offset| uniform in [min, max] with a random sign (µm). Default [5, 25]. */
  focusOffsetUm?: readonly [number, number];
  /** Frame size of the replayed stacks (px). Default 384×288 (every 256-px DeepFocus window of the 3×3 ROI fits). */
  width?: number;
  height?: number;
  /** Start offsets from focus, eval-af syntax. Default "-100:100:10" ("-100:100:20" when quick). */
  starts?: string;
  /** Image budgets for all methods. Default 2…10 (2, 3, 4, 6, 10 when quick). */
  budgets?: readonly number[];
  /** Extra budgets run to find where the classical methods get there. Default 12, 15, 20, 25, 30 (15, 30 when quick). */
  extraBudgets?: readonly number[];
  /** DeepFocus model ("int8", "fp32" or an ONNX path). Default int8. */
  model?: string;
  /** onnxruntime intra-op threads (0 = its default, as the appliance). Default 0. */
  threads?: number;
  /** Simulator starts, offsets from focus (µm). Default -80, -30, 20, 70 (-60, 40 when quick). */
  simulatorStartsUm?: readonly number[];
  /** Skip part 2 (real-time simulator runs). */
  skipSimulator?: boolean;
  /** Keep the stacks in this directory instead of a temporary one that is removed. */
  workDir?: string;
  progress?: (message: string) => void;
}

export interface MethodAtBudget {
  method: string;
  budget: number;
  /** Null when the method cannot run with this budget (DeepFocus needs 3). */
  report: EvalReport | null;
  meanImages: number | null;
  maxImages: number | null;
  note?: string;
}

export interface AutofocusBenchResult {
  modelSha256: string;
  profile: CalibrationProfile;
  rows: MethodAtBudget[];
  /** Smallest budget reaching each target, per method (null = never). */
  reach: Record<string, Record<string, number | null>>;
  /** DeepFocus compute per AF (ms) by budget. */
  compute: { budget: number; medianImages: number; scoreMs: number; matchMs: number; blurMs: number; totalMs: number; p90TotalMs: number; maxTotalMs: number }[];
  /** Per simulator run: wall time and the parts of it spent in stage moves (settling included) and camera grabs (frame wait, exposure, render). */
  simulator: { method: string; startOffsetUm: number; images: number; wallS: number; renderS: number; stageS: number; cameraS: number; errorUm: number | null; error?: string }[];
}

const METHODS = ["deepfocus", "tenengrad", "hpf"] as const;
const LABEL: Record<string, string> = { deepfocus: "DeepFocus", tenengrad: "Tenengrad+Brent", hpf: "HPF+Brent" };
const TARGETS_UM = [0.3, 0.25];
/** Training-like simulator slide for the calibration stacks (not a held-out texture). */
const CALIBRATION_SAMPLE = { sample: "tissue" as const, seed: 11 };
const SIMULATOR_SAMPLE = { sample: "cells" as const, seed: 5, focusUm: 12.3 };

/** The smallest budget at which `method` reaches `targetUm` (mean |error| ≤ it, no failures), or null (never among `rows`). */
function smallestBudget(rows: readonly MethodAtBudget[], method: string, targetUm: number): number | null {
  const hit = rows.find((r) => r.method === method && r.report && r.report.summary.failures === 0 && (r.report.summary.meanAbsErrorUm ?? Infinity) <= targetUm);
  return hit ? hit.budget : null;
}

export async function benchAutofocus(opts: AutofocusBenchOptions = {}): Promise<AutofocusBenchResult> {
  const quick = opts.quick ?? false;
  const log = opts.progress ?? ((m: string) => process.stderr.write(`${m}\n`));
  const base = parseConfig({});
  if (base.camera.kind !== "simulated") throw new Error("default camera is not simulated");
  const width = opts.width ?? 384;
  const height = opts.height ?? 288;
  const camera: SimulatedCameraConfig = { ...base.camera, width, height };
  const objective = base.objective;
  const config = parseConfig({ camera: { kind: "simulated", width, height }, deepfocus: { model: opts.model ?? "int8", threads: opts.threads ?? 0 } });
  const roi = config.autofocus.roi;
  const startsSpec = opts.starts ?? (quick ? "-100:100:20" : "-100:100:10");
  const startsUm = parseStarts(startsSpec);
  const budgets = [...(opts.budgets ?? (quick ? [2, 3, 4, 6, 10] : [2, 3, 4, 5, 6, 7, 8, 9, 10]))];
  const extra = [...(opts.extraBudgets ?? (quick ? [15, 30] : [12, 15, 20, 25, 30]))];
  const allBudgets = [...budgets, ...extra];

  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), "focusbox-bench-af-")));
  const df = await createScorerForMethod("deepfocus", config.deepfocus);
  try {
    const t0 = performance.now();
    const calibrationDir = join(workDir, "calibration-stack");
    const slideSeed = opts.slideSeed ?? 1;
    const sweep = calibrationSweep(objective, camera.pixelSizeUm);
    log(`autofocus: calibration stack (${CALIBRATION_SAMPLE.sample}, ±${sweep.halfRangeUm.toFixed(0)} µm step ${sweep.stepUm.toFixed(2)} µm)`);
    await simulateStack(calibrationDir, { camera: { kind: "simulated", width, height } }, sweep);
    const profile = await resolveCalibration(calibrationDir, df, roi, objective);

    const held = await writeHeldoutStacks(workDir, {
      textures: opts.textures ?? HELDOUT_TEXTURES,
      psfModels: opts.psfModels ?? ["gaussian", "born-wolf"],
      seed: slideSeed,
      zHalfRangeUm: opts.zHalfRangeUm ?? 150,
      zStepUm: opts.zStepUm ?? (quick ? 2 : 1),
      focusOffsetUm: opts.focusOffsetUm ?? [5, 25],
      width,
      height,
      objective,
      camera,
      log,
    });
    const stacks = await Promise.all(held.map(async (h) => ({ name: h.name, stack: await readStack(h.dir) })));
    const renderS = (performance.now() - t0) / 1000;

    // Part 1 (and the compute times of part 3)
    const rows: MethodAtBudget[] = [];
    const compute: AutofocusBenchResult["compute"] = [];
    for (const method of METHODS) {
      const classical = method === "deepfocus" ? null : await createScorerForMethod(method);
      for (const budget of allBudgets) {
        const tm = performance.now();
        if (budget < 3) {
          rows.push({ method, budget, report: null, meanImages: null, maxImages: null, note: "n/a (needs ≥ 3)" });
          continue;
        }
        const timings: DeepFocusTiming[] = [];
        const report =
          method === "deepfocus"
            ? await evaluateDeepFocus(df, profile, stacks, startsUm, budget, config, timings)
            : await evaluate({ method, stacks, startsUm, scorer: classical!.scorer, roi, runnerFor: (s) => classicalRunner(s, config, budget) });
        const images = report.runs.map((r) => r.images);
        rows.push({ method, budget, report, meanImages: mean(images), maxImages: Math.max(...images) });
        if (timings.length) {
          const totals = timings.map((t) => t.scoreMs + t.matchMs + t.blurMs).sort((a, b) => a - b);
          compute.push({
            budget,
            medianImages: median(timings.map((t) => t.images)),
            scoreMs: median(timings.map((t) => t.scoreMs)),
            matchMs: median(timings.map((t) => t.matchMs)),
            blurMs: median(timings.map((t) => t.blurMs)),
            totalMs: median(totals),
            p90TotalMs: totals[Math.min(totals.length - 1, Math.floor(0.9 * totals.length))],
            maxTotalMs: totals[totals.length - 1],
          });
        }
        log(`autofocus: ${method} N=${budget}: mean |error| ${report.summary.meanAbsErrorUm} µm, ${report.summary.failures} failures (${((performance.now() - tm) / 1000).toFixed(1)} s)`);
      }
      await classical?.close();
    }
    const reach: AutofocusBenchResult["reach"] = {};
    for (const method of METHODS) reach[method] = Object.fromEntries(TARGETS_UM.map((target) => [String(target), smallestBudget(rows, method, target)]));
    const evalS = (performance.now() - t0) / 1000 - renderS;

    // Part 2
    const simulator = opts.skipSimulator ? [] : await simulatorRuns(workDir, opts, quick, log);

    const result: AutofocusBenchResult = { modelSha256: df.modelHash ?? "", profile, rows, reach, compute, simulator };
    printResult(result, {
      stacks: held,
      slideSeed,
      startsSpec,
      startsUm,
      width,
      height,
      dofUm: depthOfFieldUm(objective, camera.pixelSizeUm),
      zStepUm: opts.zStepUm ?? (quick ? 2 : 1),
      zHalfRangeUm: opts.zHalfRangeUm ?? 150,
      focusOffsetUm: opts.focusOffsetUm ?? [5, 25],
      model: config.deepfocus.model,
      sweep,
      renderS,
      evalS,
      allBudgets,
    });
    return result;
  } finally {
    await df.close();
    if (!opts.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** One DeepFocus run's compute (ms), as `evaluateDeepFocus` re-runs it. */
interface DeepFocusTiming {
  scoreMs: number;
  matchMs: number;
  blurMs: number;
  images: number;
}

/**
 * `evaluate` for DeepFocus (blur matching with each stack's optics, as eval-af), recording per
 * run (failed ones too) its compute: after the run, its frames are scored again one after
 * another — DeepFocus and the Tenengrad cross-check, as the autofocus scores each image — the
 * Δz match is run on the trace, and the first three frames are binned for blur matching, with one
 * blur-matching estimate from them when the budget exceeds 3 images (blur-guided images at 4–5,
 * the refinement's start from 6; an upper bound: a refinement that starts at its sharpest image
 * skips it); all timed, so the figure does not depend on what overlapped the scoring during the
 * run (the replay camera decoding the next plane on the same cores).
 */
async function evaluateDeepFocus(
  df: MethodScorer,
  profile: CalibrationProfile,
  stacks: { name: string; stack: ZStack }[],
  startsUm: number[],
  budget: number,
  config: Config,
  timings: DeepFocusTiming[],
): Promise<EvalReport> {
  const crossCheck = createClassicalScorer(DEFAULT_CROSS_CHECK);
  const scorer = profileScorer(df.scorer, profile);
  const curve = profileCurve(profile);
  const runnerFor = (stack: ZStack): AutofocusRunner => {
    const inner = deepfocusRunner(profile, budget, stack, config);
    return async (ctx) => {
      const frames: Frame[] = [];
      const zsUm: number[] = [];
      const camera: Camera = {
        info: ctx.camera.info,
        start: () => ctx.camera.start(),
        stop: () => ctx.camera.stop(),
        grab: async (signal) => {
          const frame = await ctx.camera.grab(signal);
          frames.push(frame);
          zsUm.push(ctx.stage.positionUm());
          return frame;
        },
      };
      try {
        return await inner({ ...ctx, camera });
      } finally {
        const t0 = performance.now();
        const tiles: number[][] = [];
        for (const frame of frames) {
          tiles.push(validTileScores(await scorer.score(frame, profile.roi)));
          await crossCheck.score(frame, profile.roi);
        }
        const t1 = performance.now();
        matchField(curve, zsUm, tiles);
        const t2 = performance.now();
        const thumbs = frames.slice(0, BLUR_MATCH_IMAGES).map((f) => blurThumb(f));
        if (budget > BLUR_MATCH_IMAGES && frames.length >= BLUR_MATCH_IMAGES && thumbs.every((t) => t !== null))
          blurMatchFocusUm(thumbs.map((thumb, i) => ({ zUm: zsUm[i], thumb: thumb! })), 1);
        timings.push({ scoreMs: t1 - t0, matchMs: t2 - t1, blurMs: performance.now() - t2, images: frames.length });
      }
    };
  };
  return evaluate({ method: "deepfocus", stacks, startsUm, scorer: df.scorer, roi: profile.roi, runnerFor });
}

/** `focusbox stack simulate`: the configured simulator on an ideal stage and a virtual clock, focus at z = 0. */
async function simulateStack(dir: string, overrides: ConfigInput, sweep: { halfRangeUm: number; stepUm: number }): Promise<void> {
  const config = parseConfig({
    ...overrides,
    clock: "virtual",
    microscope: { ...CALIBRATION_SAMPLE, focusUm: 0, driftUmPerHour: 0, jitterUm: 0 },
    stage: { minUm: -10_000, maxUm: 10_000, backend: { kind: "simulated", slackUm: 0 } },
  });
  const devices = await createDevices(config, new VirtualClock());
  await devices.start();
  try {
    const { magnification, na } = config.objective;
    await recordStack(devices.camera, devices.stage, { fromUm: -sweep.halfRangeUm, toUm: sweep.halfRangeUm, stepUm: sweep.stepUm, outDir: dir, meta: { focusUm: 0, objective: { magnification, na } } });
  } finally {
    await devices.stop();
  }
}

interface HeldoutStack {
  name: string;
  dir: string;
  focusUm: number;
  planes: number;
}

/**
 * One stack directory per (PSF model, texture): planes at z = focusUm + defocus for every
 * rendered defocus (a grid symmetric about 0, half a step off focus) with |z| ≤ zHalfRangeUm;
 * focusUm is an offset from the stack centre seeded by the slide seed (|offset| in focusOffsetUm, random sign),
 * rounded to 0.01 µm — as if recorded around a rough manual focus.
 */
async function writeHeldoutStacks(
  workDir: string,
  o: {
    textures: readonly HeldoutTexture[];
    psfModels: readonly PsfModelId[];
    seed: number;
    zHalfRangeUm: number;
    zStepUm: number;
    focusOffsetUm: readonly [number, number];
    width: number;
    height: number;
    objective: Config["objective"];
    camera: SimulatedCameraConfig;
    log: (m: string) => void;
  },
): Promise<HeldoutStack[]> {
  const halfPlanes = Math.ceil((o.zHalfRangeUm + o.focusOffsetUm[1]) / o.zStepUm) + 1;
  const zUm = Array.from({ length: 2 * halfPlanes }, (_, k) => (k - halfPlanes + 0.5) * o.zStepUm);
  const spec: HeldoutStackSpec = { textures: o.textures, psfModels: o.psfModels, seeds: [o.seed], zUm, width: o.width, height: o.height, objective: o.objective, camera: o.camera };
  const rng = new Rng(4242 * o.seed); // seed 1: the offsets of the held-out stacks in docs/benchmarks.md
  const stacks = heldoutCurves(spec).map((c) => {
    const name = `${c.psf}-${c.texture}`;
    const offsetUm = rng.uniform(o.focusOffsetUm[0], o.focusOffsetUm[1]) * (rng.next() < 0.5 ? -1 : 1);
    return { name, dir: join(workDir, name), focusUm: Math.round(offsetUm * 100) / 100, planes: 0, writer: new StackWriter(join(workDir, name)) };
  });
  for (const s of stacks) await s.writer.open();
  o.log(`autofocus: rendering ${stacks.length} held-out stacks × ${zUm.length} defocus planes`);
  const t0 = performance.now();
  await renderHeldoutStacks(
    spec,
    async (ci, zi, frame) => {
      const s = stacks[ci];
      const z = Math.round((s.focusUm + zUm[zi]) * 1e4) / 1e4;
      if (Math.abs(z) > o.zHalfRangeUm + 1e-9) return;
      await s.writer.addPlane(z, frame);
      s.planes++;
    },
    (n) => {
      if (n % 50 === 0) o.log(`autofocus: ${n}/${zUm.length} planes (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    },
  );
  const pixelSizeUm = o.camera.pixelSizeUm / o.objective.magnification;
  for (const s of stacks) await s.writer.close({ focusUm: s.focusUm, pixelSizeUm, objective: { magnification: o.objective.magnification, na: o.objective.na } });
  return stacks.map(({ name, dir, focusUm, planes }) => ({ name, dir, focusUm, planes }));
}

/**
 * Part 2: the appliance's station on the default simulator with a real clock. DeepFocus uses a
 * profile from a live calibration on the same simulator (virtual clock, `focusbox calibrate`'s
 * default sweep around focus); both methods run with the config's defaults.
 */
async function simulatorRuns(workDir: string, opts: AutofocusBenchOptions, quick: boolean, log: (m: string) => void): Promise<AutofocusBenchResult["simulator"]> {
  const stateDir = join(workDir, "state");
  const input: ConfigInput = { stateDir, log: { level: "silent" }, microscope: SIMULATOR_SAMPLE, deepfocus: { model: opts.model ?? "int8", threads: opts.threads ?? 0 } };
  const config = parseConfig({ ...input, clock: "real" });
  if (config.camera.kind !== "simulated") throw new Error("default camera is not simulated");

  log("autofocus: live calibration on the simulator (virtual clock)");
  const calConfig = parseConfig({ ...input, clock: "virtual", microscope: { ...CALIBRATION_SAMPLE, focusUm: 0 } });
  const df = await createScorerForMethod("deepfocus", calConfig.deepfocus);
  const devices = await createDevices(calConfig, new VirtualClock());
  await devices.start();
  try {
    const sweep = calibrationSweep(config.objective, config.camera.pixelSizeUm);
    const planes = await acquirePlanes(devices.camera, devices.stage, df.scorer, config.autofocus.roi, { fromUm: -sweep.halfRangeUm, toUm: sweep.halfRangeUm, stepUm: sweep.stepUm });
    const { magnification, na } = config.objective;
    const name = defaultProfileName(config);
    await saveProfile(defaultProfilePath(stateDir, name), calibrateSweeps(planes, { name, objective: { magnification, na }, scorer: df.scorer, roi: config.autofocus.roi, modelHash: df.modelHash }));
  } finally {
    await devices.stop();
    await df.close();
  }

  const out: AutofocusBenchResult["simulator"] = [];
  const { station } = await createStation(config, new RealClock());
  await station.start();
  try {
    const microscope = station.devices.microscope!;
    const cam = microscope.camera;
    const stage = station.devices.stage;
    const [render, grab, moveTo] = [cam.render.bind(cam), cam.grab.bind(cam), stage.moveTo.bind(stage)];
    let [renderMs, cameraMs, stageMs] = [0, 0, 0];
    let images = 0;
    station.events.on("image", () => images++);
    cam.render = (scene) => {
      const t = performance.now();
      const frame = render(scene);
      renderMs += performance.now() - t;
      return frame;
    };
    cam.grab = async (signal) => {
      const t = performance.now();
      const frame = await grab(signal);
      cameraMs += performance.now() - t;
      return frame;
    };
    stage.moveTo = async (...args: Parameters<typeof moveTo>) => {
      const t = performance.now();
      await moveTo(...args);
      stageMs += performance.now() - t;
    };
    const starts = opts.simulatorStartsUm ?? (quick ? [-60, 40] : [-80, -30, 20, 70]);
    for (const method of ["deepfocus", "tenengrad"])
      for (const offset of starts) {
        await station.devices.stage.moveTo(microscope.trueFocusUm() + offset);
        [renderMs, cameraMs, stageMs] = [0, 0, 0];
        images = 0;
        const t = performance.now();
        try {
          const r = method === "deepfocus" ? await station.autofocus({ method: "deepfocus" }) : await station.autofocus({ metric: "tenengrad", strategy: "brent" });
          out.push({ method, startOffsetUm: offset, images: r.images, wallS: (performance.now() - t) / 1000, renderS: renderMs / 1000, stageS: stageMs / 1000, cameraS: cameraMs / 1000, errorUm: microscope.defocusUm() });
        } catch (err) {
          out.push({ method, startOffsetUm: offset, images, wallS: (performance.now() - t) / 1000, renderS: renderMs / 1000, stageS: stageMs / 1000, cameraS: cameraMs / 1000, errorUm: null, error: err instanceof Error ? err.message : String(err) });
        }
        log(`autofocus: simulator ${method} from ${offset} µm: ${out[out.length - 1].wallS.toFixed(2)} s`);
      }
  } finally {
    await station.stop();
  }
  return out;
}

function printResult(
  r: AutofocusBenchResult,
  s: {
    stacks: HeldoutStack[];
    slideSeed: number;
    startsSpec: string;
    startsUm: number[];
    width: number;
    height: number;
    dofUm: number;
    zStepUm: number;
    zHalfRangeUm: number;
    focusOffsetUm: readonly [number, number];
    model: string;
    sweep: { halfRangeUm: number; stepUm: number };
    renderS: number;
    evalS: number;
    allBudgets: number[];
  },
): void {
  const w = (line: string) => process.stdout.write(line + "\n");
  const planes = s.stacks.map((x) => x.planes);
  w(`\n### Autofocus error vs images on held-out stacks (DeepFocus paper Fig. 4, re-measured)\n`);
  w(
    `Setup: ${s.stacks.length} stacks = PSF × texture {${s.stacks.map((x) => x.name).join(", ")}}, slide seed ${s.slideSeed}; ` +
      `z −${s.zHalfRangeUm}…+${s.zHalfRangeUm} µm step ${s.zStepUm} µm (${Math.min(...planes)}–${Math.max(...planes)} planes), focus at ${s.stacks.map((x) => x.focusUm.toFixed(2)).join(", ")} µm; ` +
      `10×/NA 0.3, DOF ${s.dofUm.toFixed(2)} µm, ${s.width}×${s.height} 8-bit frames with shot + read noise, replayed through eval-af's evaluate (${s.stacks.length * s.startsUm.length} runs per method and N). ` +
      `Starts ${s.startsSpec} µm from focus. DeepFocus ${s.model} (sha256 ${r.modelSha256}) calibrated on a separate simulator stack (${CALIBRATION_SAMPLE.sample} seed ${CALIBRATION_SAMPLE.seed}, scalar pupil, ` +
      `±${s.sweep.halfRangeUm.toFixed(1)} µm step ${s.sweep.stepUm.toFixed(2)} µm): FWHM ${r.profile.fwhmUm.toFixed(2)} µm, dropped tiles [${r.profile.droppedTiles.join(", ")}]. ` +
      `Classical: eval-af's runner (Brent after a coarse sweep over the whole stack; classical.ts makes that sweep max(3, N − 8) images, so for N ≤ 11 it is 3 images ` +
      `at the stack's ends and centre, halved while no peak stands out and its midpoints leave 2 images for Brent, and it refuses N < 3; the stack centres lie ${s.focusOffsetUm[0]}–${s.focusOffsetUm[1]} µm from focus). Mean |error| over successful runs, ± SD; "fail" = runs ending in FocusNotFoundError/DeviceError; "img" = mean images actually taken. ` +
      `Stack rendering ${s.renderS.toFixed(0)} s, evaluation ${s.evalS.toFixed(0)} s.`,
  );
  const cell = (row: MethodAtBudget | undefined): string[] => {
    if (!row || !row.report) return [row?.note ?? "–", "–", "–"];
    const m = row.report.summary;
    return [m.meanAbsErrorUm === null ? "–" : `${m.meanAbsErrorUm.toFixed(3)} ± ${(m.sdAbsErrorUm ?? 0).toFixed(3)}`, String(m.failures), row.meanImages === null ? "–" : row.meanImages.toFixed(1)];
  };
  printTable(
    "Mean |error| (µm) vs image budget N",
    ["N", ...METHODS.flatMap((m) => [`${LABEL[m]} |error| µm`, "fail", "img"])],
    s.allBudgets.map((n) => [n, ...METHODS.flatMap((m) => cell(r.rows.find((x) => x.method === m && x.budget === n)))]),
  );
  printTable(
    `Smallest budget N reaching the target (mean |error| ≤ target, no failures; budgets tried: ${s.allBudgets.join(", ")})`,
    ["method", ...TARGETS_UM.map((t) => `≤ ${t} µm`)],
    METHODS.map((m) => [LABEL[m], ...TARGETS_UM.map((t) => (r.reach[m][String(t)] === null ? "never" : String(r.reach[m][String(t)])))]),
  );
  // The same comparison at DeepFocus's own error: at each budget where DeepFocus has no failure, the classical budget that matches its error.
  const matched = r.rows.filter((x) => x.method === "deepfocus" && x.report && x.report.summary.failures === 0 && x.report.summary.meanAbsErrorUm !== null);
  printTable(
    `Images for DeepFocus's error: at each budget N where DeepFocus has no failure, the smallest budget at which each classical method has at most its mean |error| and no failure (never: not within ${s.allBudgets[s.allBudgets.length - 1]})`,
    ["N", "DeepFocus |error| µm", ...METHODS.filter((m) => m !== "deepfocus").map((m) => `${LABEL[m]} N`)],
    matched.map((x) => {
      const errorUm = x.report!.summary.meanAbsErrorUm!;
      return [x.budget, errorUm.toFixed(3), ...METHODS.filter((m) => m !== "deepfocus").map((m) => String(smallestBudget(r.rows, m, errorUm) ?? "never"))];
    }),
  );
  printTable(
    "DeepFocus compute per autofocus (DeepFocus + Tenengrad scoring of the run's frames, re-run one after another after each run, + Δz match + blur matching; no camera/stage time), all replay runs above",
    ["N", "median images", "scoring ms (median)", "Δz match ms (median)", "blur matching ms (median)", "total ms (median)", "total ms (p90)", "total ms (max)"],
    r.compute.map((c) => [c.budget, c.medianImages, c.scoreMs, c.matchMs, c.blurMs, c.totalMs, c.p90TotalMs, c.maxTotalMs]),
  );
  if (r.simulator.length) {
    const parts = (x: AutofocusBenchResult["simulator"][number]): number[] => [x.wallS, x.stageS, x.cameraS, x.renderS, x.wallS - x.stageS - x.cameraS];
    const rows: (string | number)[][] = r.simulator.map((x) => [LABEL[x.method], x.startOffsetUm, x.images, ...parts(x), x.errorUm === null ? `failed: ${x.error}` : Math.abs(x.errorUm)]);
    for (const m of ["deepfocus", "tenengrad"]) {
      const xs = r.simulator.filter((x) => x.method === m && x.errorUm !== null);
      if (xs.length)
        rows.push([`${LABEL[m]} mean of ${xs.length} successful`, "", mean(xs.map((x) => x.images)), ...parts(xs[0]).map((_, i) => mean(xs.map((x) => parts(x)[i]))), `SD of wall ${sd(xs.map((x) => x.wallS)).toFixed(2)} s`]);
    }
    printTable(
      `AF wall time on the simulator, real clock (station defaults: 512×384 at 30 fps, exposure 10 ms, stage 2000 µm/s, 20000 µm/s², settle 20 ms, slack 3 µm, backlash 10 µm; ${SIMULATOR_SAMPLE.sample} slide); stage = moves with settling, camera = grabs (frame wait, exposure, render), rest = the scoring and fitting not hidden behind a move`,
      ["method", "start offset µm", "images", "wall s", "stage s", "camera s", "of which render s", "rest s", "|error| µm"],
      rows,
    );
  }
}
