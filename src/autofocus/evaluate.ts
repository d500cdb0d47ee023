import { access } from "node:fs/promises";
import { join } from "node:path";
import { configSchema, type Config } from "../config/schema.js";
import { ConfigError, DeviceError, FocusNotFoundError } from "../errors.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import { median } from "../focus/stats.js";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId, type FocusScorer, type Roi } from "../focus/types.js";
import { ReplayCamera } from "../hardware/camera/replay.js";
import { VirtualClock } from "../hardware/clock.js";
import { FocusStage } from "../hardware/stage/focus-stage.js";
import { ReplayStage } from "../hardware/stage/replay.js";
import { planeRangeUm, readStack, type StackHandle, type StackManifest, type ZStack } from "../hardware/zstack.js";
import { cameraPixelUm, depthOfFieldUm } from "../optics/dof.js";
import { calibrateSweeps, loadProfile, scorePlanes, type CalibrationProfile } from "./calibration.js";
import { blurGrowthPx2PerUm2Of } from "../focus/blur-match.js";
import { classicalAutofocus } from "./classical.js";
import { deepfocusAutofocus, type Optics } from "./deepfocus.js";
import type { AutofocusContext, AutofocusResult } from "./types.js";

/** One autofocus of the evaluation: the eval-af JSON contract (issue 4). */
export interface EvalRun {
  stack: string;
  startUm: number;
  /** Null when the run ended in an error. */
  finalUm: number | null;
  focusUm: number;
  /** finalUm − focusUm; null on failure. */
  errorUm: number | null;
  /** Every image acquired (a verification image included), also for failed runs. */
  images: number;
  /** The classical metric that found focus after the method refused (AutofocusResult.fallback). */
  fallback?: string;
  /** Set when the fallback metric's own peak or valley answered, unconfirmed by the method. */
  unconfirmed?: true;
  error?: string;
}

export interface EvalSummary {
  /** Over the successful runs; null when none succeeded. */
  meanAbsErrorUm: number | null;
  /** Sample SD of |error| over the successful runs (0 for one run). */
  sdAbsErrorUm: number | null;
  /** Over all runs. */
  medianImages: number | null;
  failures: number;
  /** Successful runs answered by the classical fallback (`fallback` set). */
  fallbacks: number;
}

export interface EvalReport {
  method: string;
  runs: EvalRun[];
  summary: EvalSummary;
  /** The summary of each stack's runs, in the order the stacks were given (stacks with no run left out). */
  stacks: ({ stack: string } & EvalSummary)[];
  /** Starts not run because they lie outside their stack's planes (start z = focusUm + offset). */
  skipped: { stack: string; startUm: number }[];
}

/** One autofocus on injected devices. */
export type AutofocusRunner = (ctx: AutofocusContext) => Promise<AutofocusResult>;

/** A method's scorer, its model hash (null for classical metrics) and how to release it. */
export interface MethodScorer {
  scorer: FocusScorer;
  modelHash: string | null;
  close(): Promise<void>;
}

export type ScorerFactory = (method: string) => Promise<MethodScorer>;

/** `--method` values: "deepfocus" or a classical metric id. */
export const EVAL_METHODS = ["deepfocus", ...CLASSICAL_METRIC_IDS] as const;

/**
 * The scorer for `--method`: a classical metric, or the shipped INT8 DeepFocus model
 * (loaded lazily, so onnxruntime only loads when DeepFocus is asked for).
 * @throws ConfigError for an unknown method.
 */
export async function createScorerForMethod(method: string, deepfocus: Config["deepfocus"] = configSchema.parse({}).deepfocus): Promise<MethodScorer> {
  if ((CLASSICAL_METRIC_IDS as readonly string[]).includes(method))
    return { scorer: createClassicalScorer(method as ClassicalMetricId), modelHash: null, close: async () => {} };
  if (method !== "deepfocus") throw new ConfigError(`unknown method "${method}"; expected one of ${EVAL_METHODS.join(", ")}`);
  const { configuredDeepFocusScorer } = await import("../inference/deepfocus.js");
  const scorer = await configuredDeepFocusScorer(deepfocus);
  return { scorer, modelHash: scorer.info.sha256, close: () => scorer.close() };
}

/** Parses `from:to:step` (inclusive, e.g. "-100:100:10") or a single number into start offsets (µm). */
export function parseStarts(spec: string): number[] {
  const parts = spec.split(":").map((s) => Number(s.trim()));
  const bad = (): never => {
    throw new ConfigError(`--starts "${spec}": expected FROM:TO:STEP (µm, e.g. -100:100:10) or one number`);
  };
  if (parts.some((p) => !Number.isFinite(p))) bad();
  if (parts.length === 1) return parts;
  if (parts.length !== 3) return bad();
  const [from, to, step] = parts;
  if (!(step > 0) || to < from) bad();
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => Number((from + i * step).toFixed(6)));
}

/**
 * A calibration for `--calibration PATH`: a profile (file, or directory with profile.json),
 * refused when made with another model; or a z-stack directory, calibrated on the fly
 * (`objective` names the profile when the stack's manifest does not).
 */
export async function resolveCalibration(path: string, method: MethodScorer, roi: Roi, objective: { magnification: number; na: number }): Promise<CalibrationProfile> {
  const isStack = await access(join(path, "stack.json")).then(() => true, () => false);
  if (!isStack) return loadProfile(path, method.modelHash);
  const stack = await readStack(path);
  return calibrateSweeps(await scorePlanes(stack.planes, method.scorer, roi), {
    name: path,
    objective: stack.manifest.objective ?? { magnification: objective.magnification, na: objective.na },
    scorer: method.scorer,
    roi,
    modelHash: method.modelHash,
  });
}

/**
 * DeepFocus with a calibration profile (on the profile's ROI), `maxImages` images; blur matching
 * with the k of the stack's optics (`knownStackOptics`) or the profile's measured one (`runBlurGrowth`).
 */
export function deepfocusRunner(profile: CalibrationProfile, maxImages: number, stack: ZStack, config: Config): AutofocusRunner {
  const optics = knownStackOptics(stack, config);
  const blurGrowthPx2PerUm2 = optics && blurGrowthPx2PerUm2Of(optics.objective, optics.cameraPixelUm);
  return (ctx) => deepfocusAutofocus({ ...ctx, roi: profile.roi }, profile, { maxImages, blurGrowthPx2PerUm2 });
}

/** A stack's optics as its manifest gives them (`pixelSizeUm` and `objective`; the config's immersion index and wavelength); undefined when it does not. */
export function knownStackOptics(stack: Pick<ZStack, "manifest">, config: Config): Optics | undefined {
  return stack.manifest.pixelSizeUm !== undefined && stack.manifest.objective !== undefined ? stackOptics(stack, config) : undefined;
}

/** A stack's objective and camera pixel (µm): its manifest's, the config's where the manifest is silent. */
function stackOptics(stack: Pick<ZStack, "manifest">, config: Config): Optics {
  const m = stack.manifest;
  const objective = { ...config.objective, ...m.objective };
  return { objective, cameraPixelUm: m.pixelSizeUm !== undefined ? m.pixelSizeUm * objective.magnification : cameraPixelUm(config.camera, undefined, objective) };
}

/**
 * The coarse sweep of a classical run spans the stack with at least this many images: a stack
 * shorter than a few coarse steps of its optics (a 20-µm one, or any whose manifest is silent
 * and gets the config's 10× objective) was swept with 2 images, every run failing as "focus
 * outside the range".
 */
const MIN_COARSE_IMAGES = 8;

/**
 * Classical metric + Brent over the whole stack: coarse step 1.5 DOF of the stack's objective
 * (config's objective and simulated camera pixel where the manifest is silent; the
 * wave-optical DOF alone when no pixel size is known), at most 1/(MIN_COARSE_IMAGES − 1) of
 * the stack's extent.
 */
export function classicalRunner(stack: ZStack, config: Config, maxImages: number): AutofocusRunner {
  const { objective, cameraPixelUm: pixelUm } = stackOptics(stack, config);
  const extentUm = stack.planes[stack.planes.length - 1].zUm - stack.planes[0].zUm;
  const options = { strategy: "brent" as const, rangeUm: extentUm, coarseStepUm: Math.min(1.5 * depthOfFieldUm(objective, pixelUm), extentUm / (MIN_COARSE_IMAGES - 1)), toleranceUm: config.autofocus.toleranceUm, maxImages };
  return (ctx) => classicalAutofocus(ctx, options);
}

/**
 * A stack to evaluate: decoded, or opened (openStack) and decoded only while its runs go, so
 * several large stacks never sit in memory together.
 */
export interface EvalStack {
  name: string;
  stack: ZStack | StackHandle;
}

/**
 * Refuses stacks without a known focus or with one outside their planes (every run would count
 * a search confined to the planes as missing it), and start offsets that lie outside every
 * stack's planes, before anything runs. Per stack, the starts outside its planes are skipped (`EvalReport.skipped`):
 * a stack recorded over ±40 µm is still evaluated with the default starts of ±100 µm.
 */
export function checkStacks(stacks: readonly EvalStack[], startsUm: readonly number[]): void {
  for (const { name, stack: { manifest } } of stacks) {
    if (manifest.focusUm === undefined) throw new ConfigError(`stack ${name} has no "focusUm" in stack.json: eval-af needs the known in-focus position of every stack`);
    if (!insideStack(manifest, 0)) throw new ConfigError(`stack ${name}: "focusUm" ${manifest.focusUm} µm lies outside its planes (${planeRangeUm(manifest).join(" … ")} µm)`);
  }
  if (stacks.every(({ stack }) => startsUm.every((s) => !insideStack(stack.manifest, s)))) {
    const ranges = stacks.map(({ name, stack: { manifest } }) => `${name} [${planeRangeUm(manifest).join(", ")}] µm with focus ${manifest.focusUm} µm`);
    throw new ConfigError(`no start offset (${startsUm.join(", ")} µm from focus) lies inside a stack's planes: ${ranges.join("; ")}`);
  }
}

/** Whether focusUm + offsetUm lies within the stack's planes. */
function insideStack(manifest: StackManifest, offsetUm: number): boolean {
  const startUm = (manifest.focusUm as number) + offsetUm;
  const [firstUm, lastUm] = planeRangeUm(manifest);
  return startUm >= firstUm && startUm <= lastUm;
}

export interface EvaluateOptions {
  method: string;
  stacks: readonly EvalStack[];
  /** Offsets from each stack's focusUm (µm). */
  startsUm: readonly number[];
  scorer: FocusScorer;
  roi: Roi;
  runnerFor: (stack: ZStack) => AutofocusRunner;
}

/**
 * Runs the method on the replay backend of every stack from focusUm + each start offset that
 * lies inside the stack's planes (the others are listed as skipped), one stack's planes decoded
 * at a time. Runs failing with FocusNotFoundError or DeviceError are recorded as failures; any
 * other error aborts.
 */
export async function evaluate(o: EvaluateOptions): Promise<EvalReport> {
  const { stacks, startsUm, scorer, roi } = o;
  checkStacks(stacks, startsUm);
  const runs: EvalRun[] = [];
  const skipped: EvalReport["skipped"] = [];
  for (const { name, stack: source } of stacks) {
    const focusUm = source.manifest.focusUm as number;
    const inside = startsUm.filter((s) => insideStack(source.manifest, s));
    for (const offsetUm of startsUm) if (!inside.includes(offsetUm)) skipped.push({ stack: name, startUm: focusUm + offsetUm });
    if (inside.length === 0) continue;
    const stack = "load" in source ? await source.load() : source;
    const runner = o.runnerFor(stack);
    for (const offsetUm of inside) {
      const startUm = focusUm + offsetUm;
      const backend = new ReplayStage(stack, startUm);
      let images = 0;
      const ctx: AutofocusContext = {
        camera: new ReplayCamera(stack, backend),
        stage: new FocusStage(backend, { ...backend.rangeUm, backlashUm: 0 }),
        scorer,
        roi,
        clock: new VirtualClock(),
        onImage: () => images++,
      };
      try {
        const r = await runner(ctx);
        const fallback = r.fallback && { fallback: r.fallback.metric, ...(!r.fallback.confirmed && { unconfirmed: true as const }) };
        runs.push({ stack: name, startUm, finalUm: round(r.finalUm), focusUm, errorUm: round(r.finalUm - focusUm), images: r.images, ...fallback });
      } catch (err) {
        if (!(err instanceof FocusNotFoundError || err instanceof DeviceError)) throw err;
        runs.push({ stack: name, startUm, finalUm: null, focusUm, errorUm: null, images, error: err.message });
      }
    }
  }
  const perStack = [...new Set(runs.map((r) => r.stack))].map((stack) => ({ stack, ...summarize(runs.filter((r) => r.stack === stack)) }));
  return { method: o.method, runs, summary: summarize(runs), stacks: perStack, skipped };
}

export function summarize(runs: readonly EvalRun[]): EvalSummary {
  const abs = runs.flatMap((r) => (r.errorUm === null ? [] : [Math.abs(r.errorUm)]));
  const mean = abs.length ? abs.reduce((s, x) => s + x, 0) / abs.length : null;
  const sd = mean === null ? null : abs.length > 1 ? Math.sqrt(abs.reduce((s, x) => s + (x - mean) ** 2, 0) / (abs.length - 1)) : 0;
  return {
    meanAbsErrorUm: mean === null ? null : round(mean),
    sdAbsErrorUm: sd === null ? null : round(sd),
    medianImages: runs.length ? median(runs.map((r) => r.images)) : null,
    failures: runs.length - abs.length,
    fallbacks: runs.filter((r) => r.fallback !== undefined).length,
  };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
