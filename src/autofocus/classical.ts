import { brentMaximize } from "../focus/brent.js";
import { fitPeak } from "../focus/fit.js";
import { median, robustSd } from "../focus/stats.js";
import { ConfigError, FocusNotFoundError } from "../errors.js";
import { probe, probeAll } from "./probe.js";
import type { AutofocusContext, AutofocusResult, TracePoint } from "./types.js";

export interface ClassicalOptions {
  /** `brent`: coarse bracketing sweep, then bounded Brent in the bracket. `sweep`: coarse sweep, fine sweep, peak fit. */
  strategy: "brent" | "sweep";
  /** Search half-range around the start position. */
  rangeUm: number;
  /** Spacing of the coarse sweep: must be below the metric's peak half-width (≈ 1.5 DOF). */
  coarseStepUm: number;
  toleranceUm: number;
  /** Image budget, ≥ 3 (the coarse sweep alone takes 3). */
  maxImages: number;
}

/**
 * A focus peak must stand above the median of the coarse sweep by MIN_PEAK_RELATIVE of the
 * median, and either by STRONG_PEAK_RELATIVE of it or by MIN_PEAK_SIGMAS robust standard
 * deviations of the sweep (1.4826 · MAD: the metric's frame-to-frame noise on the flat, far
 * out-of-focus part). Noise-dominated metrics (SML, LAPV) have small relative but large
 * noise-relative peaks; smooth metrics (normalised variance) the opposite. Below both the
 * field is featureless, or focus lies outside the range.
 */
export const MIN_PEAK_RELATIVE = 0.02;
export const STRONG_PEAK_RELATIVE = 0.1;
export const MIN_PEAK_SIGMAS = 6;
const REFINE_RESERVE_IMAGES = 8;
/** Images a halved coarse sweep leaves for the refinement at least. */
const MIN_REFINE_IMAGES = 2;

/**
 * Classical autofocus (Micro-Manager OughtaFocus-like): a coarse upward sweep over
 * start ± rangeUm brackets the metric's maximum (at `coarseStepUm`, or as finely as the budget
 * less REFINE_RESERVE_IMAGES allows, halved while no peak stands out and the budget has room),
 * then Brent (or a fine sweep and peak fit) refines it. Every move is backlash-compensated by
 * the FocusStage; on failure the stage returns to the start.
 * @throws ConfigError when `maxImages` < 3, before anything moves.
 */
export async function classicalAutofocus(ctx: AutofocusContext, options: ClassicalOptions): Promise<AutofocusResult> {
  if (!(options.maxImages >= 3)) throw new ConfigError(`classical autofocus needs maxImages ≥ 3 (its coarse sweep brackets the peak with 3), got ${options.maxImages}`);
  const t0Ms = ctx.clock.nowMs();
  const startUm = ctx.stage.positionUm();
  const trace: TracePoint[] = [];
  try {
    const finalUm = await search(ctx, options, startUm, trace, t0Ms);
    await ctx.stage.moveTo(finalUm, ctx.signal);
    return {
      method: `${ctx.scorer.id}+${options.strategy}`,
      startUm,
      finalUm,
      trace,
      images: trace.length,
      durationMs: ctx.clock.nowMs() - t0Ms,
    };
  } catch (err) {
    if (err instanceof FocusNotFoundError) await ctx.stage.moveTo(startUm);
    throw err;
  }
}

async function search(ctx: AutofocusContext, o: ClassicalOptions, startUm: number, trace: TracePoint[], t0Ms: number): Promise<number> {
  const { minUm, maxUm } = ctx.stage.options;
  const lo = Math.max(minUm, startUm - o.rangeUm);
  const hi = Math.min(maxUm, startUm + o.rangeUm);
  const coarseBudget = Math.max(3, o.maxImages - REFINE_RESERVE_IMAGES);
  const firstCount = Math.min(coarseBudget, Math.floor((hi - lo) / o.coarseStepUm) + 1);
  const firstStepUm = (hi - lo) / (firstCount - 1);
  // The last point is `hi` itself: lo + (count − 1)·step can round past it, and past the stage's soft limit.
  let coarse = await probeAll(ctx, trace, t0Ms, Array.from({ length: firstCount }, (_, i) => (i === firstCount - 1 ? hi : lo + i * firstStepUm)));
  let sweep = sweepPeak(coarse);
  // A budget too small for a sweep at the coarse step samples the range sparsely, and focus can
  // lie between two images where the metric is still flat. Before refusing, the sweep is halved
  // while its midpoints and MIN_REFINE_IMAGES fit in the budget.
  for (;;) {
    const stepUm = coarse.length > 1 ? coarse[1].zUm - coarse[0].zUm : 0;
    const midpoints = coarse.slice(1).map((p, i) => (coarse[i].zUm + p.zUm) / 2);
    if (sweep.stands || stepUm <= o.coarseStepUm || trace.length + midpoints.length + MIN_REFINE_IMAGES > o.maxImages) break;
    coarse = [...coarse, ...(await probeAll(ctx, trace, t0Ms, midpoints))].sort((p, q) => p.zUm - q.zUm);
    sweep = sweepPeak(coarse);
  }
  const { scores, best, med, sigma } = sweep;
  const count = coarse.length;
  const peak = scores[best] - med;
  const relative = peak / Math.max(Math.abs(med), Number.EPSILON);
  if (!sweep.stands)
    throw new FocusNotFoundError(
      `no focus peak in ${lo.toFixed(1)}…${hi.toFixed(1)} µm (${ctx.scorer.id} peak ${(relative * 100).toFixed(1)} % and ${(peak / Math.max(sigma, Number.EPSILON)).toFixed(1)} noise SD above the median): the field is featureless or focus lies outside the range`,
      "no-texture",
    );
  // A maximum at an end of the sweep (e.g. focus just inside a stage limit or a replayed stack's
  // first plane) is refined towards its neighbour; it is focus only if the peak lies inside.
  const edgeUm = best === 0 || best === count - 1 ? coarse[best].zUm : null;
  const outside = () =>
    new FocusNotFoundError(`the ${ctx.scorer.id} maximum lies at the edge of the search range (${edgeUm!.toFixed(1)} µm): focus is probably outside it`, "out-of-range");
  const a = coarse[Math.max(0, best - 1)].zUm;
  const c = coarse[Math.min(count - 1, best + 1)].zUm;
  const budget = o.maxImages - trace.length;
  if (budget <= 0) {
    if (edgeUm !== null) throw outside();
    return coarse[best].zUm;
  }
  const zUm = o.strategy === "brent" ? await refineBrent(ctx, o, trace, t0Ms, a, c, coarse[best], budget) : await refineSweep(ctx, trace, t0Ms, a, c, budget);
  // From an end, focus is a peak strictly between the end and its neighbour (at either, the
  // refinement only climbed a slope or noise) that stands above the end image as a focus peak
  // stands above the sweep.
  if (edgeUm !== null) {
    const insideUm = Math.min(Math.abs(zUm - a), Math.abs(zUm - c));
    if (insideUm <= o.toleranceUm || !stands(Math.max(...trace.map((p) => p.score)), scores[best], sigma)) throw outside();
  }
  return zUm;
}

/** A sweep's scores, its sharpest image, median and robust SD (1.4826 · MAD), and whether that image stands out as a focus peak. */
function sweepPeak(sweep: readonly TracePoint[]): { scores: number[]; best: number; med: number; sigma: number; stands: boolean } {
  const scores = sweep.map((p) => p.score);
  const best = scores.indexOf(Math.max(...scores));
  const med = median(scores);
  const sigma = robustSd(scores);
  return { scores, best, med, sigma, stands: stands(scores[best], med, sigma) };
}

/** A score stands out from `base` as a focus peak: by MIN_PEAK_RELATIVE, and by STRONG_PEAK_RELATIVE or MIN_PEAK_SIGMAS × `sigma`. */
function stands(score: number, base: number, sigma: number): boolean {
  const peak = score - base;
  const relative = peak / Math.max(Math.abs(base), Number.EPSILON);
  return relative > MIN_PEAK_RELATIVE && (relative > STRONG_PEAK_RELATIVE || peak > MIN_PEAK_SIGMAS * sigma);
}

async function refineBrent(
  ctx: AutofocusContext,
  o: ClassicalOptions,
  trace: TracePoint[],
  t0Ms: number,
  a: number,
  c: number,
  known: TracePoint,
  budget: number,
): Promise<number> {
  const gen = brentMaximize(a, c, { toleranceUm: o.toleranceUm, maxEvaluations: budget + 1, x0: known.zUm });
  let step = gen.next();
  while (!step.done) {
    const zUm = step.value;
    const reuse = Math.abs(zUm - known.zUm) < 1e-9;
    if (!reuse && trace.length >= o.maxImages) break;
    const score = reuse ? known.score : (await probe(ctx, trace, t0Ms, zUm)).score;
    step = gen.next(score);
  }
  const best = trace.reduce((p, q) => (q.score > p.score ? q : p));
  return step.done ? step.value.x : best.zUm;
}

async function refineSweep(ctx: AutofocusContext, trace: TracePoint[], t0Ms: number, a: number, c: number, budget: number): Promise<number> {
  const count = Math.min(9, budget);
  const fine = await probeAll(ctx, trace, t0Ms, Array.from({ length: count }, (_, i) => a + ((c - a) * i) / Math.max(1, count - 1)));
  const peak = fitPeak(
    fine.map((p) => p.zUm),
    fine.map((p) => p.score),
  );
  return peak ?? fine.reduce((p, q) => (q.score > p.score ? q : p)).zUm;
}
