import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { ObjectiveConfig } from "../config/schema.js";
import { ConfigError, throwIfAborted } from "../errors.js";
import { writeAtomic } from "../files.js";
import { blurThumb, measureBlurGrowthPx2PerUm2, type BlurThumb } from "../focus/blur-match.js";
import { curveShape, validTileScores, type CalibrationCurve } from "../focus/calibration-match.js";
import { risingReachUm, turnDownFraction } from "../focus/curve-reach.js";
import { fitMoffat } from "../focus/moffat.js";
import { median } from "../focus/stats.js";
import type { FocusScorer, Roi } from "../focus/types.js";
import type { Camera, Frame } from "../hardware/camera/types.js";
import type { FocusStage } from "../hardware/stage/focus-stage.js";
import { depthOfFieldUm } from "../optics/dof.js";

const roiSchema = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
  cols: z.number().int().positive(),
  rows: z.number().int().positive(),
});

/**
 * A DeepFocus calibration profile, one per objective (and model): the ROI-aggregate curve
 * b_calib(z) centred at focus (z = 0), its Moffat fit (z0 ≈ 0 after centring) and FWHM,
 * and the sha256 of the scorer's model (a profile is only valid for the model that made it).
 */
export const calibrationProfileSchema = z.object({
  name: z.string().min(1),
  objective: z.object({ magnification: z.number().positive(), na: z.number().positive() }),
  /** Scorer id (normally "deepfocus"). */
  scorer: z.string(),
  curve: z.array(z.object({ zUm: z.number(), b: z.number() })).min(5),
  fit: z.object({ A: z.number(), z0: z.number(), alpha: z.number(), beta: z.number(), c: z.number(), rmse: z.number() }),
  /** The Moffat fit's FWHM; the curve's measured width at half depth when the fit's lies beyond the sweep (a V-shaped curve). */
  fwhmUm: z.number().positive(),
  modelHash: z.string().nullable(),
  roi: roiSchema,
  /** Tiles (row-major over the ROI) left out as invalid or outliers. */
  droppedTiles: z.array(z.number().int()),
  /**
   * Frames are binned this many times per axis before scoring (DeepFocusScorer.withBinning);
   * the curve stays in camera pixels. Chosen by the calibration (calibrateSweeps); 1 in
   * profiles older than the field.
   */
  binning: z.number().int().min(1).max(8).default(1),
  /** How far from focus (µm, the nearer side; see risingReachUm) the curve still rises: the depth it can tell apart (reported). */
  captureRangeUm: z.number().nonnegative().optional(),
  /**
   * Blur matching's k (camera px² per µm² of defocus) measured on the sweep
   * (`measureBlurGrowthPx2PerUm2`); runs use it where the configured optics' k is unknown or far
   * off (deepfocus.ts `runBlurGrowth`). Absent in profiles older than the field and where the
   * sweep gave too few triples.
   */
  blurGrowthPx2PerUm2: z.number().positive().optional(),
  /**
   * How far the sweep's full-resolution curve (per-plane median of the valid tiles, centred where
   * the profile puts focus) falls back toward its floor beyond its highest point nearer focus,
   * as a fraction of its depth (`turnDownFraction`); high when the frames hold something that does
   * not blur with focus (`staticPatternWarning`). Absent in profiles older than the field and
   * where the scorer cannot score full-resolution frames' tiles (no binning-1 sweep).
   */
  fullResolutionFallBack: z.number().min(0).max(1).optional(),
  createdAt: z.string(),
});
export type CalibrationProfile = z.infer<typeof calibrationProfileSchema>;

/** One calibration plane: its z and per-tile scores (NaN = invalid tile); its binned field for blur matching, when kept. */
export interface PlaneScores {
  zUm: number;
  tiles: number[];
  thumb?: BlurThumb;
}

/** The planes of one calibration sweep scored at one binning. */
export interface BinnedSweep {
  binning: number;
  planes: PlaneScores[];
}

/**
 * Binnings a calibration compares when the scorer can bin (FocusScorer.withBinning). At full
 * resolution a far-defocus blur disc of finely sampled optics (high magnification, small camera
 * pixels) outgrows the scorer's window and its curve turns down a few DOF from focus; binned
 * frames keep it rising.
 */
export const CALIBRATION_BINNINGS = [1, 2, 4] as const;

/**
 * A curve that falls back by more than this fraction of its depth somewhere beyond its highest
 * point nearer focus has turned down: the blur disc has outgrown the scorer's window (a curve
 * merely flattening far out, by noise a few % up and down, has not turned down).
 */
const TURN_DOWN_FRACTION = 0.15;

/**
 * Binning costs detail near focus, so full resolution is given up only for a binning whose
 * curve rises over at least this many times the stretch (both sides together) — e.g. not when
 * full resolution turns down only 12 DOF out, where the paper's capture range ends anyway.
 */
const BINNING_REACH_GAIN = 1.5;

/**
 * A tile whose RMS deviation from the per-plane median curve exceeds this many times the
 * median deviation (and 2 % of the curve's depth) is an outlier.
 */
const OUTLIER_DEVIATION_RATIO = 3;
const OUTLIER_DEPTH_FRACTION = 0.02;

/** The profile's curve as the matcher takes it. */
export function profileCurve(profile: CalibrationProfile): CalibrationCurve {
  return { zUm: profile.curve.map((p) => p.zUm), b: profile.curve.map((p) => p.b) };
}

/**
 * Default calibration sweep for an objective: ±20 DOF (beyond DeepFocus's ~11-DOF capture
 * range, so matches from far starts stay inside the curve) in steps of DOF / 4.
 */
export function calibrationSweep(objective: ObjectiveConfig, cameraPixelUm: number): { halfRangeUm: number; stepUm: number } {
  const dofUm = depthOfFieldUm(objective, cameraPixelUm);
  return { halfRangeUm: 20 * dofUm, stepUm: dofUm / 4 };
}

/**
 * The ends of a default sweep `hereUm` ± `halfRangeUm`, kept inside the stage's soft limits
 * (near a limit, or on a replay stack shorter than the default range, the curve is shorter
 * instead of the calibration failing at the limit).
 */
export function sweepEnds(hereUm: number, halfRangeUm: number, limits: { minUm: number; maxUm: number }): { fromUm: number; toUm: number } {
  return { fromUm: Math.max(limits.minUm, hereUm - halfRangeUm), toUm: Math.min(limits.maxUm, hereUm + halfRangeUm) };
}

/** One sweep per binning the scorer offers (CALIBRATION_BINNINGS, else 1), and how to score a plane into all of them. */
function binnedSweeps(scorer: FocusScorer): { sweeps: BinnedSweep[]; add: (zUm: number, frame: Frame, roi: Roi) => Promise<void> } {
  const binnings = scorer.withBinning ? CALIBRATION_BINNINGS : [1];
  const scorers = binnings.map((binning) => (binning === 1 ? scorer : scorer.withBinning!(binning)));
  const sweeps = binnings.map((binning) => ({ binning, planes: [] as PlaneScores[] }));
  const add = async (zUm: number, frame: Frame, roi: Roi): Promise<void> => {
    const thumb = blurThumb(frame) ?? undefined;
    for (const [i, s] of scorers.entries()) sweeps[i].planes.push({ zUm, tiles: validTileScores(await s.score(frame, roi)), thumb });
  };
  return { sweeps, add };
}

/** Scores existing planes (e.g. a recorded stack) per tile, at each binning the scorer offers. */
export async function scorePlanes(planes: readonly { zUm: number; frame: Frame }[], scorer: FocusScorer, roi: Roi, signal?: AbortSignal): Promise<BinnedSweep[]> {
  const { sweeps, add } = binnedSweeps(scorer);
  for (const p of planes) {
    throwIfAborted(signal);
    await add(p.zUm, p.frame, roi);
  }
  return sweeps;
}

/**
 * Acquires planes from `fromUm` up to `toUm` (travelling upward only) on live devices and
 * scores each at every binning the scorer offers; `onPlane(done, total, zUm)` after each plane
 * (the station's calibration progress events).
 */
export async function acquirePlanes(
  camera: Camera,
  stage: FocusStage,
  scorer: FocusScorer,
  roi: Roi,
  sweep: { fromUm: number; toUm: number; stepUm: number },
  signal?: AbortSignal,
  onPlane?: (done: number, total: number, zUm: number) => void,
): Promise<BinnedSweep[]> {
  if (!(sweep.stepUm > 0 && sweep.toUm > sweep.fromUm)) throw new ConfigError("calibration sweep needs step > 0 and to > from");
  const count = Math.floor((sweep.toUm - sweep.fromUm) / sweep.stepUm + 1e-9) + 1;
  stage.checkLimits(sweep.fromUm);
  stage.checkLimits(sweep.fromUm + (count - 1) * sweep.stepUm);
  const { sweeps, add } = binnedSweeps(scorer);
  for (let i = 0; i < count; i++) {
    const zUm = sweep.fromUm + i * sweep.stepUm;
    await stage.moveTo(zUm, signal);
    await add(zUm, await camera.grab(signal), roi);
    onPlane?.(i + 1, count, zUm);
  }
  return sweeps;
}

export interface CalibrationMeta {
  name: string;
  objective: { magnification: number; na: number };
  scorer: FocusScorer;
  roi: Roi;
  modelHash: string | null;
  now?: Date;
}

/**
 * The profile at full resolution (the most detail near focus) unless its curve turns down
 * (turnDownFraction > TURN_DOWN_FRACTION) and a binned curve rises over ≥ BINNING_REACH_GAIN ×
 * its stretch; then, of those binnings, the finest whose curve does not turn down, else the
 * one rising farthest. (Without a full-resolution profile: the finest that does not turn down.)
 * With the planes' binned fields (`PlaneScores.thumb`), blur matching's k is measured on them too.
 * @throws ConfigError as buildCalibration at binning 1 when no binning gives a profile.
 */
export function calibrateSweeps(sweeps: readonly BinnedSweep[], meta: CalibrationMeta): CalibrationProfile {
  type Built = { profile: CalibrationProfile; focusUm: number; planes: readonly PlaneScores[] };
  const built: Built[] = [];
  let firstError: unknown = null;
  for (const sweep of [...sweeps].sort((a, b) => a.binning - b.binning)) {
    try {
      built.push({ ...centredProfile(sweep.planes, meta, sweep.binning), planes: sweep.planes });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      firstError ??= err;
    }
  }
  if (built.length === 0) throw firstError ?? new ConfigError("calibration: no planes were scored");
  const reach = (b: Built): number => {
    const r = risingReachUm(b.profile.curve);
    return r.belowUm + r.aboveUm;
  };
  const turnsDown = (b: Built): boolean => turnDownFraction(b.profile.curve) > TURN_DOWN_FRACTION;
  const chosen = ((): Built => {
    const full = built[0].profile.binning === 1 ? built[0] : null;
    if (full && !turnsDown(full)) return full;
    const gains = full ? built.filter((b) => b.profile.binning > 1 && reach(b) >= BINNING_REACH_GAIN * reach(full)) : built;
    if (gains.length === 0) return full ?? built[0];
    return gains.find((b) => !turnsDown(b)) ?? gains.reduce((best, b) => (reach(b) > reach(best) ? b : best));
  })();
  const { profile, focusUm, planes } = chosen;
  const thumbs = planes.flatMap((p) => (p.thumb ? [{ zUm: p.zUm, thumb: p.thumb }] : []));
  const blurGrowthPx2PerUm2 = measureBlurGrowthPx2PerUm2(thumbs, focusUm, defaultSpacingUm(profile), profile.fwhmUm);
  const fullResolution = sweeps.find((s) => s.binning === 1);
  const fullResolutionFallBack = fullResolution && fallBackFraction(fullResolution.planes, focusUm);
  return {
    ...profile,
    ...(blurGrowthPx2PerUm2 === undefined ? {} : { blurGrowthPx2PerUm2 }),
    ...(fullResolutionFallBack === undefined ? {} : { fullResolutionFallBack }),
  };
}

/** `fullResolutionFallBack` of these planes, centred at `focusUm`; undefined when fewer than 5 planes have valid tiles. */
function fallBackFraction(planes: readonly PlaneScores[], focusUm: number): number | undefined {
  const curve = planes.map((p) => ({ zUm: p.zUm - focusUm, b: finiteMedian(p.tiles) })).filter((p) => Number.isFinite(p.b));
  curve.sort((a, b) => a.zUm - b.zUm);
  return curve.length >= 5 ? round(turnDownFraction(curve)) : undefined;
}

/**
 * A full-resolution curve that falls back more than this fraction of its depth has met
 * something that does not blur with focus (`staticPatternWarning`). Clean sweeps fell back at
 * most 0.38 (a blur disc outgrowing the window at 60×, which binning then fixes); dust shadows on
 * the camera window over 1 % of the frame made 0.73, over 5 % 1.00 (docs/benchmarks.md, "Dust on
 * the camera window").
 */
export const STATIC_PATTERN_FALL_BACK = 0.6;

/**
 * A warning when the profile's full-resolution curve falls back toward its floor far from focus
 * (`fullResolutionFallBack` > STATIC_PATTERN_FALL_BACK): far-defocused frames then read nearly as
 * sharp as focus, because something in them keeps its detail at any focus — dust on the camera
 * window or on a lens near the camera, or the sensor's fixed-pattern noise. Such a profile's
 * curve and FWHM are not the optics', and runs on it can land far from focus. Null otherwise.
 */
export function staticPatternWarning(profile: CalibrationProfile): string | null {
  const fallBack = profile.fullResolutionFallBack;
  if (fallBack === undefined || !(fallBack > STATIC_PATTERN_FALL_BACK)) return null;
  return `far from focus the sweep's full-resolution frames read nearly as sharp as at focus (the curve falls back ${Math.round(100 * fallBack)} % of its depth): something in the images does not blur with focus — dust on the camera window or on a lens near the camera, or the sensor's fixed-pattern noise — and DeepFocus reads it as detail. This profile (FWHM ${profile.fwhmUm.toFixed(1)} µm, binning ${profile.binning}) can send autofocus runs far from focus: clean the camera window and the optics near it (or flat-field the frames) and recalibrate`;
}

/**
 * Spacing of a DeepFocus run's first three images with this profile (µm): 2·FWHM (the paper), at
 * most 1/8 of the calibration curve's extent (so far starts keep their images on the curve).
 */
export function defaultSpacingUm(profile: CalibrationProfile): number {
  const extentUm = profile.curve[profile.curve.length - 1].zUm - profile.curve[0].zUm;
  return Math.min(2 * profile.fwhmUm, extentUm / 8);
}

/**
 * Builds a profile from scored planes: drops tiles valid in fewer than half the planes and
 * tiles whose curve strays from the per-plane median curve, averages the rest per plane,
 * fits a Moffat dip and centres the curve at its minimum (the fit's z0). `binning` is the
 * binning the planes were scored at.
 * @throws ConfigError when the scorer is not a defocus score or the curve shows no minimum.
 */
export function buildCalibration(planes: readonly PlaneScores[], meta: CalibrationMeta, binning = 1): CalibrationProfile {
  return centredProfile(planes, meta, binning).profile;
}

/** `buildCalibration`, and where the sweep found focus (µm, the planes' z). */
function centredProfile(planes: readonly PlaneScores[], meta: CalibrationMeta, binning: number): { profile: CalibrationProfile; focusUm: number } {
  if (meta.scorer.higherIsSharper) throw new ConfigError(`calibration needs a defocus scorer (lower is sharper); ${meta.scorer.id} is a sharpness metric`);
  const sorted = [...planes].sort((a, b) => a.zUm - b.zUm);
  const nTiles = sorted[0]?.tiles.length ?? 0;
  const reference = sorted.map((p) => finiteMedian(p.tiles));
  const deviation = Array.from({ length: nTiles }, (_, t) => {
    const d = sorted.map((p, i) => p.tiles[t] - reference[i]).filter(Number.isFinite);
    return d.length * 2 >= sorted.length ? Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length) : Infinity;
  });
  const finiteDev = deviation.filter(Number.isFinite);
  if (finiteDev.length === 0) throw new ConfigError("calibration: no tile is valid in half the planes — use a flat, textured object");
  const finiteRef = reference.filter(Number.isFinite);
  const depth = Math.max(...finiteRef) - Math.min(...finiteRef);
  const limit = Math.max(OUTLIER_DEVIATION_RATIO * median(finiteDev), OUTLIER_DEPTH_FRACTION * depth);
  const kept = deviation.map((d) => d <= limit);

  const zUm: number[] = [];
  const b: number[] = [];
  sorted.forEach((p) => {
    const vals = p.tiles.filter((v, t) => kept[t] && Number.isFinite(v));
    if (vals.length === 0) return;
    zUm.push(p.zUm);
    b.push(vals.reduce((s, v) => s + v, 0) / vals.length);
  });
  if (zUm.length < 5)
    throw new ConfigError(
      sorted.length < 5
        ? `calibration: the sweep has ${sorted.length} planes; it needs at least 5 (record the calibration stack over ±2 FWHM in steps of FWHM / 8 or less)`
        : `calibration: only ${zUm.length} of ${sorted.length} planes have valid tiles (need ≥ 5): the field is empty or featureless in the rest`,
    );
  const fit = fitMoffat(zUm, b);
  if (!(fit.A < 0) || !(fit.z0 > zUm[0] && fit.z0 < zUm[zUm.length - 1]))
    throw new ConfigError(`calibration: the ${meta.scorer.id} curve shows no minimum inside ${zUm[0]}…${zUm[zUm.length - 1]} µm; centre the sweep on focus`);
  const extentUm = zUm[zUm.length - 1] - zUm[0];
  const fwhmUm = fit.fwhmUm > 0 && fit.fwhmUm <= extentUm ? fit.fwhmUm : curveShape({ zUm, b }).fwhmUm;
  const curve = zUm.map((z, i) => ({ zUm: round(z - fit.z0), b: b[i] }));
  const profile: CalibrationProfile = {
    name: meta.name,
    objective: meta.objective,
    scorer: meta.scorer.id,
    curve,
    fit: { A: fit.A, z0: 0, alpha: fit.alpha, beta: fit.beta, c: fit.c, rmse: fit.rmse },
    fwhmUm,
    modelHash: meta.modelHash,
    roi: meta.roi,
    droppedTiles: kept.flatMap((k, t) => (k ? [] : [t])),
    binning,
    captureRangeUm: round(Math.min(...Object.values(risingReachUm(curve)))),
    createdAt: (meta.now ?? new Date()).toISOString(),
  };
  return { profile, focusUm: fit.z0 };
}

/** The profile name used when none is given: the configured one, else `<M>x-na<NA>` of the objective. */
export function defaultProfileName(config: { deepfocus: { profile?: string }; objective: { magnification: number; na: number } }): string {
  return config.deepfocus.profile ?? `${config.objective.magnification}x-na${config.objective.na}`;
}

/** Where `focusbox calibrate` keeps a named profile. */
export function defaultProfilePath(stateDir: string, name: string): string {
  return join(stateDir, "calibration", `${name}.json`);
}

/** Writes a profile JSON atomically (creating its directory). */
export async function saveProfile(file: string, profile: CalibrationProfile): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeAtomic(file, JSON.stringify(profile, null, 2) + "\n");
}

/**
 * Reads and validates a profile (a JSON file, or a directory holding `profile.json`) and
 * refuses it when it was made with another model than `modelHash`.
 * @throws ConfigError naming the file and the problem.
 */
export async function loadProfile(path: string, modelHash: string | null): Promise<CalibrationProfile> {
  const file = (await stat(path).catch(() => null))?.isDirectory() ? join(path, "profile.json") : path;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read calibration profile ${file}: ${(err as Error).message}`);
  }
  const parsed = calibrationProfileSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const profile = parsed.data;
  if (profile.modelHash !== modelHash)
    throw new ConfigError(
      `calibration profile "${profile.name}" (${file}) was made with model ${short(profile.modelHash)}, but the scorer runs model ${short(modelHash)}: recalibrate with focusbox calibrate`,
    );
  return profile;
}

const short = (hash: string | null): string => (hash ? hash.slice(0, 12) : "(none)");
const round = (x: number): number => Math.round(x * 1e4) / 1e4;

function finiteMedian(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? median(f) : Number.NaN;
}

/**
 * A warning when a calibration sweep's planes lie farther apart than the refinement's first
 * half-span (FWHM / 8, `refineHalfSpanUm`): its triples are then matched on a curve interpolated
 * across plane gaps wider than the triples themselves (a 5-plane sweep in 5-µm steps of a
 * 15-µm FWHM calibrated, and every run on it was refused). Null otherwise.
 */
export function coarseSweepWarning(profile: CalibrationProfile): string | null {
  const zUm = profile.curve.map((p) => p.zUm);
  const stepUm = median(zUm.slice(1).map((z, i) => z - zUm[i]));
  const halfSpanUm = profile.fwhmUm / 8;
  if (!(stepUm > halfSpanUm)) return null;
  return `the sweep's planes are ${stepUm.toFixed(2)} µm apart, more than the refinement's first half-span (FWHM / 8 = ${halfSpanUm.toFixed(2)} µm): the autofocus would match its images on a curve interpolated between planes; record the calibration stack in steps of ${halfSpanUm.toFixed(2)} µm or less`;
}
