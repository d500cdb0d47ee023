import type { ObjectiveConfig } from "../config/schema.js";
import { ConfigError, FocusNotFoundError } from "../errors.js";
import { curveAt, curveFloor, matchField, validTileScores, type CalibrationCurve, type FieldMatch, type FieldMatchOptions } from "../focus/calibration-match.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import { blurGrowthPx2PerUm2Of, blurThumb, pupilGrowthFactor, splitThumbs, type BlurThumb, type SplitThumbs } from "../focus/blur-match.js";
import { isConvex } from "../focus/fit.js";
import type { Frame } from "../hardware/camera/types.js";
import type { ClassicalMetricId, FocusScorer, Roi } from "../focus/types.js";
import { profileCurve, type CalibrationProfile } from "./calibration.js";
import { imageBudget, initialPoints, initialSpacingUm, nextGoldenPoint, TRIPLE_IMAGES } from "./bracket.js";
import { probe, probeAll } from "./probe.js";
import { crossCheckSharpest, DECISIVE_LOG_RATIO, NEAR_FOCUS_LOG_RATIO, sharpestLead, sharpnessLogRatio } from "./cross-check.js";
import { fewImageAnswer } from "./few-images.js";
import { readsFlat, refine } from "./refine.js";
import { blurConfirmed, blurGuidedAnswer, blurGuidedImages, blurMatchStart, type BlurGuidedPair } from "./blur-guided.js";
import { sharpnessFallback } from "./fallback.js";
import { sharpnessValley, valleyAnswer } from "./phase-sample.js";
import { phaseFocus, phaseSign, prepareFineDetail } from "./contrast-inversion.js";
import type { AutofocusContext, AutofocusResult, TracePoint } from "./types.js";

export interface DeepFocusOptions {
  /** Images allowed, the verification image included (≥ 3, or ≥ 4 with `verify`). */
  maxImages: number;
  /** Take one more image at the final position and report its score (counted in `images`). */
  verify?: boolean;
  /** Spacing of the first three images (µm); default 2·FWHM (the paper), at most 1/8 of the calibration curve's extent. */
  spacingUm?: number;
  /** Thresholds of the Δz match (capture-range and outlier tests). */
  match?: FieldMatchOptions;
  /** First half-span h of the refinement's image triples e − h, e, e + h (µm); default FWHM / 8. */
  refineHalfSpanUm?: number;
  /** The refinement stops when its estimate moves by less than this (µm); default 0.25. */
  toleranceUm?: number;
  /**
   * Classical metric also scored on every image; a refinement triple brackets focus only when
   * this metric agrees (middle image sharpest). Default "tenengrad"; null turns the check off.
   * It reads each tile where the DeepFocus scorer does (`FocusScorer.tileRegions`, else the tile).
   */
  crossCheck?: ClassicalMetricId | null;
  /**
   * Growth of the defocus blur's second moment with defocus, per axis (camera px² per µm²:
   * (tan θ / 2)² / sample-plane pixel², `blurGrowthPx2PerUm2Of` of the configured optics); a run
   * takes the profile's measured one instead when this is missing or far off (`runBlurGrowth`).
   * With either, blur matching between the first three images (focus/blur-match.ts) places the
   * last images of 4- and 5-image runs (blur-guided.ts) and may set where the refinement starts
   * (refine.ts `startEstimate`); without either, blur matching is off.
   */
  blurGrowthPx2PerUm2?: number;
}

/**
 * Most the configured optics' k may differ (either way) from the one the calibration measured
 * and still be used. Beyond, the measured k is used: the configured pixel size, NA or immersion is
 * not the instrument's (a camera adapter or binning left out), or the NA is so high that the
 * optics' uniform-disc k overstates the pupil's blur (`pupilGrowthFactor`). In the simulator the
 * two agree within 5 % at NA 0.3 in air; at NA 1.4 in oil the measured k is 0.33× the disc's
 * (docs/benchmarks.md, "Blur matching without the optics").
 */
const OPTICS_GROWTH_AGREEMENT = 1.5;

/**
 * Blur matching's k for a run: the configured optics' (`optics`), with which the autofocus's
 * rules were chosen and measured, unless the profile's measured k (`measured`) differs by more
 * than OPTICS_GROWTH_AGREEMENT×; the measured one when the optics are unknown (a stack imported
 * without them); undefined (blur matching off) without either.
 */
export function runBlurGrowth(measured: number | undefined, optics: number | undefined): number | undefined {
  if (measured === undefined || optics === undefined) return optics ?? measured;
  const ratio = optics / measured;
  return ratio <= OPTICS_GROWTH_AGREEMENT && ratio >= 1 / OPTICS_GROWTH_AGREEMENT ? optics : measured;
}

/** An objective and the camera pixel pitch behind it (sensor plane, µm): what the optics' k is predicted from (`blurGrowthPx2PerUm2Of`). */
export interface Optics {
  objective: ObjectiveConfig;
  cameraPixelUm: number;
}

/**
 * What a calibration should tell the user when the k it measured is over
 * OPTICS_GROWTH_AGREEMENT× off what the configured `optics` predict for a defocused pupil (their
 * disc's k times `pupilGrowthFactor`; the disc's k alone overstates it 2.3× at NA 1.4 in oil): how
 * much faster (or slower) the sweep's blur grows with defocus (√ of the ratio; k goes with
 * (tan θ / sample-plane pixel)²). Null otherwise, and when either is unknown.
 */
export function blurGrowthWarning(measured: number | undefined, optics: Optics | undefined): string | null {
  const disc = optics && blurGrowthPx2PerUm2Of(optics.objective, optics.cameraPixelUm);
  if (measured === undefined || optics === undefined || disc === undefined) return null;
  const predicted = disc * pupilGrowthFactor(optics.objective);
  if (runBlurGrowth(measured, predicted) === predicted) return null;
  return `the sweep's defocus blur grows ${Math.sqrt(measured / predicted).toFixed(2)}× as fast with defocus as the configured optics predict (blur matching's k measured ${measured.toFixed(4)} px²/µm², predicted ${predicted.toFixed(4)}): check the pixel size on the sample (the camera's pixel and binning, the magnification, any camera adapter), the NA and the immersion index; autofocus runs use the measured k`;
}

/** Images of a run blur matching compares: the first three (the paper's first triple, or tracking's pair and the search's first). */
export const BLUR_MATCH_IMAGES = 3;

/** The classical metric of the refinement's cross-check unless `crossCheck` says otherwise. */
export const DEFAULT_CROSS_CHECK: ClassicalMetricId = "tenengrad";

/** An autofocus result with what DeepFocus learnt about the field. */
export interface DeepFocusResult extends AutofocusResult {
  /** Per-tile focus position (µm, row-major over `roi`; null = invalid tile or outlier, all null when the cross-check's own peak answered): shows tilt and field curvature. */
  tileFocusUm: (number | null)[];
  roi: Roi;
  /** Standard uncertainty of the focus estimate (µm); when the cross-check's own peak answered, half the wider gap beside its sharpest image. */
  uncertaintyUm: number;
  /** Median per-tile RMS residual of the match, in score units (NaN when the cross-check's own peak answered). */
  rmsResidual: number;
  /** With `verify`: the ROI score at the final position and the calibration's minimum it should be close to. */
  verification?: { b: number; expectedB: number };
}

/** One DeepFocus run: devices (scorer masked so invalid tiles read NaN in the trace), calibration and images so far. */
export interface DeepFocusRun {
  ctx: AutofocusContext;
  profile: CalibrationProfile;
  curve: CalibrationCurve;
  /** The run's options; `blurGrowthPx2PerUm2` the k it uses (`runBlurGrowth`). */
  options: DeepFocusOptions;
  startUm: number;
  t0Ms: number;
  trace: TracePoint[];
  /** Binned fields of the images: blur matching reads the first BLUR_MATCH_IMAGES (with `options.blurGrowthPx2PerUm2`), `contrastInversion` any. */
  thumbs: Map<TracePoint, BlurThumb>;
  /** The images binned more finely, in two halves (`splitThumbs`): `inversionFocus` reads their finer detail. */
  fineThumbs: Map<TracePoint, SplitThumbs>;
  /** Set when the search placed its last images by blur matching (budgets 4–5, blur-guided.ts). */
  blurGuided?: BlurGuidedPair;
  /** Where blur matching between the first three images puts focus, once computed (`blurMatchStart`; null: no estimate). */
  blurFocusUm?: number | null;
}

/**
 * DeepFocus autofocus (Shajkofci & Liebling 2020): images at z1 and z1 ± spacing (z1 = the
 * start); while their scores are not convex, one more image at the next golden-section point;
 * then the per-tile shift Δz of the calibration curve that best explains all images, a robust
 * aggregate over the ROI, and a backlash-compensated move there. With ≥ 3 images of the budget
 * left, that estimate is refined by bracketing image triples (`refine`). When DeepFocus finds
 * no focus it can confirm (`out-of-range`), the cross-check metric continues from the same
 * images (`sharpnessFallback`: with the images left, and its own clear peak when DeepFocus
 * confirms none; the result says so in `fallback`) — unless the images show a sharpness valley
 * near focus (`sharpnessValley`: an unstained sample in bright field), answered at its vertex
 * (`valleyAnswer`) or refused. Before either, once the images show an unstained sample by its
 * contrast — two images either side of focus with inverted contrast, or a featureless image
 * beside images with detail — the search and refinement stop and the run focuses where the
 * contrast changes sign (contrast-inversion.ts `phaseFocus`).
 * @throws FocusNotFoundError `no-texture` (no valid tile) or `out-of-range` (focus outside the
 *   capture range or the stage limits, and the fallback found no clear peak), with the stage back at the start.
 */
export async function deepfocusAutofocus(ctx: AutofocusContext, profile: CalibrationProfile, options: DeepFocusOptions): Promise<DeepFocusResult> {
  const run = startRun(ctx, profile, options);
  return guarded(run, async () => {
    try {
      return await searchAndFinish(run, run.startUm, "deepfocus");
    } catch (err) {
      // A run whose images show a sharpness valley was answered or refused by `finish` (`valleyAnswer`): no fallback.
      if (!(err instanceof FocusNotFoundError && err.reason === "out-of-range") || sharpnessValley(run)) throw err;
      return sharpnessFallback(run, err);
    }
  });
}

/**
 * The search from `z1Um` (`searchImages`) and its answer (`searchAnswer`, then `finish` with
 * `method`) — or, once the images show an unstained sample, its focus by the sign of its contrast
 * (`phaseFocus`): what deepfocusAutofocus and tracking's full search run.
 */
export async function searchAndFinish(run: DeepFocusRun, z1Um: number, method: string): Promise<DeepFocusResult> {
  await searchImages(run, z1Um);
  const early = await phaseFocus(run, method);
  if (early) return early;
  const match = await searchAnswer(run);
  return (await phaseFocus(run, method)) ?? (await finish(run, match, method));
}

/** Prepares a run (validates the image budget; the scorer at the profile's binning, invalid tiles as NaN). */
export function startRun(ctx: AutofocusContext, profile: CalibrationProfile, options: DeepFocusOptions): DeepFocusRun {
  const minImages = TRIPLE_IMAGES + (options.verify ? 1 : 0);
  if (!(options.maxImages >= minImages)) throw new ConfigError(`DeepFocus needs maxImages ≥ ${minImages}${options.verify ? ` (${TRIPLE_IMAGES} + verification)` : ""}, got ${options.maxImages}`);
  const base = profileScorer(ctx.scorer, profile);
  const scorer: FocusScorer = {
    id: base.id,
    higherIsSharper: base.higherIsSharper,
    score: async (frame, roi) => {
      const s = await base.score(frame, roi);
      return { ...s, tiles: validTileScores(s) };
    },
  };
  const crossCheck = options.crossCheck === undefined ? DEFAULT_CROSS_CHECK : options.crossCheck;
  // The cross-check reads the pixels DeepFocus reads: a sparse field's ROI tiles alone can miss the objects its windows see
  // (40×/NA 0.75 beads, docs/benchmarks.md "The cross-check reads what DeepFocus reads").
  const sharpness = crossCheck === null ? undefined : createClassicalScorer(crossCheck, base.tileRegions?.bind(base));
  const trace: TracePoint[] = [];
  const thumbs = new Map<TracePoint, BlurThumb>();
  const fineThumbs = new Map<TracePoint, SplitThumbs>();
  const growth = runBlurGrowth(profile.blurGrowthPx2PerUm2, options.blurGrowthPx2PerUm2);
  const onFrame = (point: TracePoint, frame: Frame): void => {
    const thumb = blurThumb(frame);
    if (thumb) thumbs.set(point, thumb);
    const fine = splitThumbs(frame);
    if (fine) {
      fineThumbs.set(point, fine);
      prepareFineDetail(run, point);
    }
    ctx.onFrame?.(point, frame);
  };
  const run: DeepFocusRun = { ctx: { ...ctx, scorer, sharpness, onFrame }, profile, curve: profileCurve(profile), options: { ...options, blurGrowthPx2PerUm2: growth }, startUm: ctx.stage.positionUm(), t0Ms: ctx.clock.nowMs(), trace, thumbs, fineThumbs };
  return run;
}

/**
 * The scorer at the profile's binning (what a run with this profile scores with).
 * @throws ConfigError when the profile is binned and the scorer cannot bin.
 */
export function profileScorer(scorer: FocusScorer, profile: CalibrationProfile): FocusScorer {
  if (profile.binning === 1) return scorer;
  if (!scorer.withBinning) throw new ConfigError(`calibration profile "${profile.name}" scores ${profile.binning}×${profile.binning}-binned frames, which the ${scorer.id} scorer cannot`);
  return scorer.withBinning(profile.binning);
}

/** Runs `body`; on FocusNotFoundError the stage returns to where the run started. */
export async function guarded<T>(run: DeepFocusRun, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof FocusNotFoundError) await run.ctx.stage.moveTo(run.startUm);
    throw err;
  }
}

/**
 * The paper's acquisition: z1, z1 − spacing and z1 + spacing, then golden-section images until
 * convex or out of budget (less one refinement triple when the budget has room for it) — or,
 * with 1–2 images left and blur growth, a pair placed by blur matching (`blurGuidedImages`). With
 * that room, the search ends after the first three images when they read flat and low to
 * DeepFocus while the cross-check rates one decisively sharper (`readsFlat`): the refinement
 * then walks from that image. With that room it also ends, leaving focus to the refinement, when
 * blur matching between the first three images puts focus somewhere (the refinement starts
 * there, or near an image the cross-check rates over twice as sharp as every other: refine.ts
 * `startEstimate`) — a golden-section image that overshoots focus (1.618× the first spacing past
 * the triple's nearest image) costs the walk back images, and one that chases a false DeepFocus
 * minimum far out more (docs/benchmarks.md, "One refinement triple", "False DeepFocus minima far
 * out") — and, without blur matching, before a golden-section image when the cross-check rates
 * one image over twice as sharp as every other (`sharpestLead`: focus is near it). When none of
 * the first three images has a valid tile (an empty or featureless field) it takes no more; when
 * the images show an unstained sample (`phaseSign`), neither.
 */
export async function searchImages(run: DeepFocusRun, z1Um: number): Promise<void> {
  const { ctx } = run;
  const { minUm, maxUm } = ctx.stage.options;
  const budget = imageBudget(run);
  const [loUm, midUm, hiUm] = initialPoints(z1Um, initialSpacingUm(run), minUm, maxUm);
  // The middle first (no move at the start), then the upper and the lower one: one reversal, and the run goes on from
  // the lowest image, so its next image (above it unless focus lies below the triple) needs no backlash overshoot.
  await probeAll(ctx, run.trace, run.t0Ms, [midUm, hiUm, loUm].slice(0, Math.max(0, budget - run.trace.length)));
  if (phaseSign(run)) return;
  // With room for a refinement, keep one triple for it: an answer then stands only if a triple brackets it.
  const refinementReserved = budget >= 2 * TRIPLE_IMAGES;
  const searchBudget = refinementReserved ? budget - TRIPLE_IMAGES : budget;
  // No valid tile in any image: an empty or featureless field, which more images will not change.
  if (!run.trace.some((p) => Number.isFinite(p.score))) return;
  if (refinementReserved && readsFlat(run)) return;
  if (await blurGuidedImages(run)) return;
  if (refinementReserved && blurMatchStart(run) !== null) return;
  while (run.trace.length < searchBudget) {
    const finite = run.trace.filter((p) => Number.isFinite(p.score));
    if (isConvex(finite.map((p) => p.zUm), finite.map((p) => p.score), "minimum")) return;
    if (phaseSign(run)) return;
    const zUm = nextGoldenPoint(run.trace, minUm, maxUm);
    if (zUm === null || (refinementReserved && sharpestLead(run.trace) >= NEAR_FOCUS_LOG_RATIO)) return;
    await probe(ctx, run.trace, run.t0Ms, zUm);
  }
}

/** Δz match of the run's images `points` (default: every image in its trace), with the run's match options and `extra` on top. */
export function matchTrace(run: DeepFocusRun, points: readonly TracePoint[] = run.trace, extra: FieldMatchOptions = {}): FieldMatch {
  return matchField(
    run.curve,
    points.map((p) => p.zUm),
    points.map((p) => p.tiles),
    { ...run.options.match, ...extra },
  );
}

/**
 * The match a run's search images lead to: "no-texture" when no image has a valid tile; the
 * blur-guided pair's when the search took one; the few-image answer when the budget leaves no
 * refinement triple and the images bracket focus; else the refinement of the first match. An
 * answer from the first three images alone must agree with blur matching (`blurConfirmed`).
 */
export async function searchAnswer(run: DeepFocusRun): Promise<FieldMatch> {
  const first = matchTrace(run);
  // No valid tile in any image: nothing to refine (blur matching would still read the empty field's noise).
  if (!run.trace.some((p) => Number.isFinite(p.score))) return first;
  if (run.blurGuided) return blurGuidedAnswer(run, run.blurGuided, first);
  return blurConfirmed(run, (await fewImageAnswer(run, first)) ?? (await refine(run, first)));
}

/** Where a run's images were taken, for its messages: "N images at z1, z2, … µm". */
export function imagesWhere(trace: readonly TracePoint[]): string {
  return `${trace.length} images at ${trace.map((p) => p.zUm.toFixed(1)).join(", ")} µm`;
}

/** Turns a match into a move (or a FocusNotFoundError when its focus is implausible), takes the verification image, builds the result (`settle`); where the images show a sharpness valley near focus, answers that instead (`valleyAnswer`). */
export async function finish(run: DeepFocusRun, match: FieldMatch, method: string): Promise<DeepFocusResult> {
  const { ctx, trace } = run;
  const where = imagesWhere(trace);
  if (match.problem === "no-texture") throw new FocusNotFoundError(`no valid tile in ${where}: the field is empty or featureless`, "no-texture");
  const valley = sharpnessValley(run);
  if (valley) return valleyAnswer(run, valley);
  if (match.problem !== null || match.shiftUm === null) throw new FocusNotFoundError(notFoundInCaptureRange(run.profile, match, where), "out-of-range");
  const targetUm = match.shiftUm;
  const sharper = sharperElsewhere(run, targetUm);
  if (sharper)
    throw new FocusNotFoundError(
      `the estimate z=${targetUm.toFixed(2)} µm is not where the images are sharpest: ${ctx.sharpness?.id} rates the image at z=${sharper.zUm.toFixed(1)} µm ${sharper.percent.toFixed(0)} % sharper than the one nearest the estimate (${where})` +
        (sharper.nearFloor ? `. DeepFocus reads the images near the estimate as nearly in focus: a pattern that stays put as focus changes, such as dust on the camera window, reads so far from focus; a flat field removes it (camera.flatField)` : ""),
      "out-of-range",
    );
  const twin = equallySharpElsewhere(run, targetUm);
  if (twin)
    throw new FocusNotFoundError(
      `the estimate z=${targetUm.toFixed(2)} µm is not distinguishable from z=${twin.zUm.toFixed(1)} µm: DeepFocus and ${ctx.sharpness?.id} rate the image there as sharp as the images near the estimate, or sharper (a periodic sample reads as focused over several DOF) (${where})`,
      "out-of-range",
    );
  const blurred = blurredAtEstimate(run, targetUm);
  if (blurred)
    throw new FocusNotFoundError(
      `DeepFocus reads ${blurred.b.toFixed(1)} px at z=${blurred.zUm.toFixed(1)} µm, ${blurred.ratio.toFixed(1)}× what the calibration expects that close to the estimate z=${targetUm.toFixed(2)} µm: its images lie on a flat stretch of the curve far from focus (${where})`,
      "out-of-range",
    );
  const artefact = finerThanOptics(run, targetUm);
  if (artefact)
    throw new FocusNotFoundError(
      `DeepFocus reads ${artefact.b.toFixed(2)} px at z=${artefact.zUm.toFixed(1)} µm, under ${SUB_OPTICAL_RATIO} × the calibration's in-focus ${artefact.floor.toFixed(2)} px: structure finer than the optics resolve — the camera's column stripes, hot pixels or compression, not the sample; correct them in the camera or subtract a dark frame (${where})`,
      "out-of-range",
    );
  const elsewhere = inFocusFarAway(run, targetUm);
  if (elsewhere)
    throw new FocusNotFoundError(
      `DeepFocus reads the image at z=${elsewhere.zUm.toFixed(1)} µm, ${Math.abs(elsewhere.zUm - targetUm).toFixed(1)} µm from the estimate z=${targetUm.toFixed(2)} µm, as in focus (${elsewhere.b.toFixed(2)} px, under ${IN_FOCUS_FLOOR_RATIO} × the calibration's in-focus ${elsewhere.floor.toFixed(2)} px): its readings do not follow the optics there — dust on the camera window (a flat field removes it: camera.flatField), compression blocks (JPEG), a camera's pattern or a periodic sample (${where})`,
      "out-of-range",
    );
  const { minUm, maxUm } = ctx.stage.options;
  if (!(targetUm >= minUm && targetUm <= maxUm))
    throw new FocusNotFoundError(`estimated focus z=${targetUm.toFixed(2)} µm lies outside the stage's soft limits [${minUm}, ${maxUm}] µm`, "out-of-range");
  const edgeUm = run.profile.fwhmUm / LIMIT_EDGE_FWHM_DIVISOR;
  const limitUm = targetUm - minUm < edgeUm ? minUm : maxUm - targetUm < edgeUm ? maxUm : null;
  if (limitUm !== null)
    throw new FocusNotFoundError(
      `estimated focus z=${targetUm.toFixed(2)} µm lies within ${edgeUm.toFixed(1)} µm (FWHM/${LIMIT_EDGE_FWHM_DIVISOR}) of the stage's soft limit ${limitUm} µm: no image beyond the limit can confirm a minimum there, and a reading that keeps falling towards it may go on past it; widen the soft limits if focus lies there (${where})`,
      "out-of-range",
    );
  return settle(run, match, method);
}

/** Moves to the match's focus (`shiftUm`, set), takes the verification image, builds the result: `finish` without its checks. */
export async function settle(run: DeepFocusRun, match: FieldMatch, method: string): Promise<DeepFocusResult> {
  const { ctx, trace } = run;
  const targetUm = match.shiftUm!;
  await ctx.stage.moveTo(targetUm, ctx.signal);
  const verification = run.options.verify ? { b: (await probe(ctx, trace, run.t0Ms, targetUm)).score, expectedB: curveAt(run.curve, 0) } : undefined;
  return {
    method,
    startUm: run.startUm,
    finalUm: ctx.stage.positionUm(),
    trace,
    images: trace.length,
    durationMs: ctx.clock.nowMs() - run.t0Ms,
    tileFocusUm: match.tileShiftsUm,
    roi: ctx.roi,
    uncertaintyUm: match.uncertaintyUm,
    rmsResidual: match.rmsResidual,
    ...(verification && { verification }),
  };
}

/**
 * Moves to `focus.zUm`, a focus DeepFocus did not confirm (a classical metric's own peak or
 * valley, an unstained sample's contrast sign), and builds the result (`settle`): no per-tile
 * focus, no match residual, `focus.uncertaintyUm`, and `fallback` with `confirmed: false`.
 */
export async function settleUnconfirmed(run: DeepFocusRun, focus: { zUm: number; uncertaintyUm: number }, method: string, fallback: { metric: string; reason: string }): Promise<DeepFocusResult> {
  const tiles = run.trace[0]?.tiles.length ?? 0;
  const match: FieldMatch = { shiftUm: focus.zUm, tileShiftsUm: new Array<null>(tiles).fill(null), validTiles: 0, inlierTiles: 0, uncertaintyUm: focus.uncertaintyUm, rmsResidual: Number.NaN, problem: null };
  return { ...(await settle(run, match, method)), fallback: { ...fallback, confirmed: false } };
}

/**
 * An image the cross-check metric rates decisively sharper (DECISIVE_LOG_RATIO) than the image
 * nearest `targetUm` in the run's trace, when DeepFocus itself reads that nearest image as far
 * from focus (above NOT_SHARP_FLOOR_RATIO × the calibration curve's floor); else null. A DeepFocus match
 * that lands there bracketed noise: a dense fine texture far out of focus reads "almost sharp"
 * to DeepFocus everywhere, and a triple there can have its lowest score in the middle by
 * chance, while a gradient metric still ranks the images. When DeepFocus reads that nearest
 * image near its floor (`nearFloor`), only an image it reads near its floor too can overrule, by
 * a lead of NEAR_FOCUS_LOG_RATIO (2×): DeepFocus cannot tell two such images apart, and a
 * gradient metric's false peaks a few DOF out (a phase-like sample's contrast, light spilling
 * into a sparse field), where DeepFocus reads far from focus, do not count (see
 * `equallySharpElsewhere` for leads under 2×). A pattern that stays put as focus changes — dust
 * shadows on the camera window — reads nearly in focus to DeepFocus far from focus, where the
 * sample's contrast is gone, while the gradient metric rates an image near focus many times
 * sharper (docs/benchmarks.md, "Dust at run time").
 */
export function sharperElsewhere(run: DeepFocusRun, targetUm: number): { zUm: number; percent: number; nearFloor: boolean } | null {
  const scored = run.trace.filter((p) => Number.isFinite(p.sharpness));
  if (scored.length < 2) return null;
  const nearest = nearestTo(scored, targetUm);
  const sharpest = crossCheckSharpest(scored)!;
  const logRatio = sharpnessLogRatio(sharpest, nearest);
  const nearFloorB = inFocusScore(run);
  const nearFloor = nearest.score <= nearFloorB;
  if (nearFloor && sharpest.score > nearFloorB) return null;
  return logRatio >= (nearFloor ? NEAR_FOCUS_LOG_RATIO : DECISIVE_LOG_RATIO) ? { zUm: sharpest.zUm, percent: 100 * (Math.exp(logRatio) - 1), nearFloor } : null;
}

/** DeepFocus reads an image this many times its calibration floor or more: not in focus (see `sharperElsewhere`). */
export const NOT_SHARP_FLOOR_RATIO = 2;

/** The DeepFocus score at or below which the run reads an image as in focus: NOT_SHARP_FLOOR_RATIO × the calibration curve's floor. */
export function inFocusScore(run: DeepFocusRun): number {
  return NOT_SHARP_FLOOR_RATIO * curveFloor(run.curve);
}

/**
 * An image that makes the estimate `targetUm` doubtful, else null:
 * - one at least FWHM/4 from it that DeepFocus reads at most SAME_BLUR_LOG_RATIO blurrier, and
 *   the cross-check metric not decisively (DECISIVE_LOG_RATIO) less sharp, than the image
 *   nearest the estimate: the run cannot tell which of the two is nearer focus;
 * - one farther than FWHM/8 from it that DeepFocus reads as sharp (within SAME_BLUR_LOG_RATIO
 *   of the nearest image) and the cross-check decisively sharper than every image within
 *   FWHM/8 of it: focus is more likely there.
 * Only when an image lies within FWHM/8 of the estimate. A periodic sample reads as focused to DeepFocus over several DOF and its gradient metric
 * peaks at each contrast reversal there, so a refinement triple can bracket a false focus; at
 * true focus the images near the estimate are far sharper to the gradient metric than any
 * image that far away.
 */
function equallySharpElsewhere(run: DeepFocusRun, targetUm: number): TracePoint | null {
  const scored = run.trace.filter((p) => Number.isFinite(p.score) && Number.isFinite(p.sharpness) && p.sharpness! > 0);
  if (scored.length < 2) return null;
  const distance = (p: TracePoint): number => Math.abs(p.zUm - targetUm);
  const nearest = nearestTo(scored, targetUm);
  const nearUm = run.profile.fwhmUm / 8;
  // Without an image near the estimate (3-image runs, tracking) there is nothing to compare.
  if (distance(nearest) > nearUm) return null;
  const near = scored.filter((p) => distance(p) <= nearUm);
  const bestNearSharpness = Math.max(nearest.sharpness!, ...near.map((p) => p.sharpness!));
  const logSharpness = (p: TracePoint, ref: number): number => Math.log(p.sharpness! / ref);
  const asSharpToDeepFocus = (p: TracePoint): boolean => Math.log(p.score / nearest.score) <= SAME_BLUR_LOG_RATIO;
  return (
    scored.find(
      (p) =>
        asSharpToDeepFocus(p) &&
        ((distance(p) >= 2 * nearUm && logSharpness(p, nearest.sharpness!) > -DECISIVE_LOG_RATIO) || (distance(p) > nearUm && logSharpness(p, bestNearSharpness) >= DECISIVE_LOG_RATIO)),
    ) ?? null
  );
}

/** DeepFocus readings within this log ratio (25 %) are "about as sharp" (see `equallySharpElsewhere`). */
const SAME_BLUR_LOG_RATIO = Math.log(1.25);

/**
 * The image nearest `targetUm` when DeepFocus reads it more than BLURRED_RATIO × what the
 * calibration curve gives at its distance from the estimate (at least the curve's floor); else
 * null. The DeepFocus premise is that every sample reads about the calibration's floor at focus;
 * an estimate whose nearest image reads several times that came from a flat stretch far out
 * (a dense texture that saturates at a mid-range reading), where a triple can bracket noise.
 */
function blurredAtEstimate(run: DeepFocusRun, targetUm: number): { zUm: number; b: number; ratio: number } | null {
  const scored = run.trace.filter((p) => Number.isFinite(p.score));
  if (scored.length === 0) return null;
  const nearest = nearestTo(scored, targetUm);
  const expected = Math.max(curveAt(run.curve, nearest.zUm - targetUm), curveFloor(run.curve));
  const ratio = nearest.score / expected;
  return ratio > BLURRED_RATIO ? { zUm: nearest.zUm, b: nearest.score, ratio } : null;
}

/** See `blurredAtEstimate`: samples' in-focus readings differ from the calibration sample's by up to about 2×. */
const BLURRED_RATIO = 3;

/**
 * The image nearest `targetUm` when DeepFocus reads it under SUB_OPTICAL_RATIO × the calibration
 * curve's floor, else null. The floor is the blur of the optics themselves at focus; a reading
 * far below it is structure no sample can put through them — pixel-sharp patterns of the
 * camera (column fixed-pattern stripes, hot pixels) that stand out once the sample's own
 * contrast is blurred away, so such an estimate lies far from focus (docs/benchmarks.md,
 * "Recordings with flaws": 5 % column stripes read 1.5 px 134 µm from focus against a 4.35-px
 * floor, where in-focus unseen samples read 0.66–1.3× it).
 */
function finerThanOptics(run: DeepFocusRun, targetUm: number): { zUm: number; b: number; floor: number } | null {
  const scored = run.trace.filter((p) => Number.isFinite(p.score));
  if (scored.length === 0) return null;
  const nearest = nearestTo(scored, targetUm);
  const floor = curveFloor(run.curve);
  return nearest.score < SUB_OPTICAL_RATIO * floor ? { zUm: nearest.zUm, b: nearest.score, floor } : null;
}

/** See `finerThanOptics`. */
const SUB_OPTICAL_RATIO = 0.4;

/**
 * An image at least FAR_FWHM_FRACTION × FWHM from `targetUm` that DeepFocus reads as in focus
 * (under IN_FOCUS_FLOOR_RATIO × the calibration curve's floor), else null. Every unseen sample
 * reads that low only near its focus (within ±6–10 µm at 10×/NA 0.3, FWHM 63 µm; ±23 µm for a
 * periodic mesh, whose contrast reverses; ±2 µm at 20×/NA 0.45, FWHM 24 µm), so such an image
 * and the estimate cannot both be near focus. Seen where the readings stop following the
 * optics: JPEG planes, whose 8×8 blocks read as fine structure on a blurred field, made a mesh
 * read in focus 170 µm out and a run answer there (docs/benchmarks.md, "Recordings with flaws");
 * dust shadows on the camera window read in focus 76 µm out ("Dust at run time").
 */
function inFocusFarAway(run: DeepFocusRun, targetUm: number): { zUm: number; b: number; floor: number } | null {
  const floor = curveFloor(run.curve);
  const farUm = FAR_FWHM_FRACTION * run.profile.fwhmUm;
  const p = run.trace.find((q) => Number.isFinite(q.score) && q.score < IN_FOCUS_FLOOR_RATIO * floor && Math.abs(q.zUm - targetUm) >= farUm);
  return p ? { zUm: p.zUm, b: p.score, floor } : null;
}

/** See `inFocusFarAway`. */
const IN_FOCUS_FLOOR_RATIO = 1.5;
const FAR_FWHM_FRACTION = 0.5;

/**
 * An answer this close to a stage limit (FWHM / LIMIT_EDGE_FWHM_DIVISOR, the refinement's finest
 * half-span) is refused: its triples are pressed against the limit, so none has an image past
 * the answer. Readings that keep falling towards the limit (a camera's pattern reading sharper
 * and sharper far from focus: column stripes, JPEG blocks on a mesh) ended there 134–170 µm
 * from focus (docs/benchmarks.md, "Recordings with flaws"), as a classical search refuses a
 * sharpest image at the limit.
 */
const LIMIT_EDGE_FWHM_DIVISOR = 16;

/** The point of `points` (non-empty) nearest `zUm`; the first of equally near ones. */
function nearestTo<T extends TracePoint>(points: readonly T[], zUm: number): T {
  return points.reduce((a, b) => (Math.abs(b.zUm - zUm) < Math.abs(a.zUm - zUm) ? b : a));
}

/**
 * The refusal when the images do not pin a shift. A run cannot tell focus beyond the calibrated
 * capture range from a sample that reads flat to DeepFocus where the images are (dense or
 * sparse fields far out, a periodic sample near focus), so the message names both and what the
 * user can do.
 */
function notFoundInCaptureRange(profile: CalibrationProfile, match: FieldMatch, where: string): string {
  const range = profile.captureRangeUm === undefined ? "" : ` (±${profile.captureRangeUm.toFixed(1)} µm)`;
  return (
    `no focus found within the calibrated capture range${range}: ${outOfRangeReason(match)} (${where}). ` +
    "Focus lies beyond that range, or this sample reads too flat to DeepFocus there; more images or a classical metric may find it"
  );
}

function outOfRangeReason(match: FieldMatch): string {
  switch (match.problem) {
    case "edge":
      return "the best shift of the calibration curve lies at the edge of its range";
    case "unbracketed":
      return "within the image budget, no images around the estimate bracketed focus consistently with the calibration curve (a triple with its lowest score in the middle, or a pair about where blur matching puts focus)";
    case "flat":
      return "the scores lie on a flat part of the calibration curve and do not pin the shift";
    case "disputed":
      return "DeepFocus's match of the three images and blur matching between them put focus more than FWHM/8 apart, and no image is left to tell which is right (a budget of 4 or more places images about blur matching's focus)";
    default:
      return `the scores do not fit the calibration curve (RMS residual ${match.rmsResidual.toPrecision(3)})`;
  }
}
