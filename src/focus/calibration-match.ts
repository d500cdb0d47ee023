import { goldenSectionSearch } from "./golden.js";
import { median } from "./stats.js";
import type { FrameScore } from "./types.js";

/** A frame's tile scores with invalid tiles (`valid[t] === false`, or a non-finite score) set to NaN. */
export function validTileScores(score: FrameScore): number[] {
  return score.tiles.map((b, t) => (score.valid?.[t] === false || !Number.isFinite(b) ? Number.NaN : b));
}

/**
 * A DeepFocus calibration curve b_calib(z): samples sorted by increasing `zUm`, centred so
 * that focus lies at z = 0 (the curve's minimum). Between samples it is linear; outside
 * them it is unknown (the match never extrapolates).
 */
export interface CalibrationCurve {
  zUm: readonly number[];
  b: readonly number[];
}

/** The curve's lowest score: what an in-focus image of the calibration sample reads. */
export function curveFloor(curve: CalibrationCurve): number {
  return Math.min(...curve.b);
}

/** The curve's highest score: the blurriest the calibration sweep read. */
export function curveCeiling(curve: CalibrationCurve): number {
  return Math.max(...curve.b);
}

/** b_calib(zUm) by linear interpolation; NaN outside the sampled domain. */
export function curveAt(curve: CalibrationCurve, zUm: number): number {
  const { zUm: zs, b } = curve;
  const n = zs.length;
  if (!(zUm >= zs[0] && zUm <= zs[n - 1])) return Number.NaN;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (zs[mid] <= zUm) lo = mid;
    else hi = mid;
  }
  const t = (zUm - zs[lo]) / (zs[hi] - zs[lo]);
  return b[lo] + t * (b[hi] - b[lo]);
}

/** Depth (max − min) and full width at half depth (µm) of a calibration curve. */
export function curveShape(curve: CalibrationCurve): { depth: number; fwhmUm: number } {
  const lo = curveFloor(curve);
  const depth = curveCeiling(curve) - lo;
  const inside = curve.zUm.filter((_, i) => curve.b[i] <= lo + depth / 2);
  return { depth, fwhmUm: Math.max(...inside) - Math.min(...inside) };
}

export interface ShiftMatchOptions {
  /** Dense-search spacing (µm); default half the curve's median sample spacing. */
  gridStepUm?: number;
  /** Score noise assumed when the fit is exact (default 1 % of the curve depth); sets the uncertainty floor. */
  noiseFloor?: number;
  /** Largest acceptable standard uncertainty of Δz (µm); default the curve's FWHM / 4. */
  maxUncertaintyUm?: number;
  /** Largest acceptable RMS residual as a fraction of the curve depth (default 0.1). */
  maxRelResidual?: number;
  /**
   * Fit b ≈ g·b_calib(z − Δz) with the best gain g > 0 at each Δz (the curve's shape, not its
   * level); residual and noise thresholds scale with g. Default false: the paper's pure shift.
   */
  freeGain?: boolean;
}

/** Why a match cannot be trusted: best Δz at the edge of the searchable range, measurements on a flat part of the curve, residual too large. */
export type MatchProblem = "edge" | "flat" | "residual";

export interface ShiftMatch {
  /** Δz minimising Σ(b_i − b_calib(z_i − Δz))²: the focus position in the measurements' z frame (µm). */
  shiftUm: number;
  /** The gain g of the fit (1 unless `freeGain`). */
  gain: number;
  rmsResidual: number;
  /** Standard uncertainty of Δz from the residual (floored) and the curve's slopes at the measurements (µm). */
  uncertaintyUm: number;
  problem: MatchProblem | null;
}

/**
 * Least-squares shift of the calibration curve onto measurements (z_i, b_i), ≥ 2 of them:
 * a dense search over every Δz that keeps all z_i − Δz inside the curve's domain, then a
 * golden-section refinement within one grid step of the best grid point.
 */
export function matchShift(curve: CalibrationCurve, zUm: readonly number[], b: readonly number[], opts: ShiftMatchOptions = {}): ShiftMatch {
  if (zUm.length !== b.length || zUm.length < 2) throw new RangeError("matchShift needs ≥ 2 (z, b) measurements");
  const { depth, fwhmUm } = curveShape(curve);
  const spacing = median(curve.zUm.slice(1).map((z, i) => z - curve.zUm[i]));
  const step = opts.gridStepUm ?? spacing / 2;
  const gainAt = (shift: number): number => {
    if (!opts.freeGain) return 1;
    const c = zUm.map((z) => curveAt(curve, z - shift));
    const cc = c.reduce((s, ci) => s + ci * ci, 0);
    return cc > 0 ? Math.max(0, c.reduce((s, ci, i) => s + ci * b[i], 0) / cc) : 0;
  };
  // Infinity where a measurement falls outside the curve's domain (never "best", unlike NaN).
  const sse = (shift: number): number => {
    const g = gainAt(shift);
    const cost = zUm.reduce((s, z, i) => s + (b[i] - g * curveAt(curve, z - shift)) ** 2, 0);
    return Number.isNaN(cost) ? Infinity : cost;
  };
  const loUm = Math.max(...zUm) - curve.zUm[curve.zUm.length - 1];
  const hiUm = Math.min(...zUm) - curve.zUm[0];
  if (!(hiUm > loUm)) return { shiftUm: Number.NaN, gain: Number.NaN, rmsResidual: Number.NaN, uncertaintyUm: Infinity, problem: "edge" };

  const count = Math.max(2, Math.ceil((hiUm - loUm) / step) + 1);
  const grid = Array.from({ length: count }, (_, k) => loUm + ((hiUm - loUm) * k) / (count - 1));
  const costs = grid.map(sse);
  let best = 0;
  for (let k = 1; k < count; k++) if (costs[k] < costs[best]) best = k;
  const shiftUm = refine(sse, grid[Math.max(0, best - 1)], grid[Math.min(count - 1, best + 1)], grid[best], costs[best]);

  const n = zUm.length;
  const gain = gainAt(shiftUm);
  const rmsResidual = Math.sqrt(sse(shiftUm) / n);
  const sigmaB = Math.max(Math.sqrt(sse(shiftUm) / Math.max(1, n - 1)), gain * (opts.noiseFloor ?? 0.01 * depth));
  const h = Math.min(step, spacing);
  const slope2 = zUm.reduce((s, z) => s + (gain * slopeAt(curve, z - shiftUm, h)) ** 2, 0);
  const uncertaintyUm = slope2 > 0 ? sigmaB / Math.sqrt(slope2) : Infinity;

  const finite = costs.flatMap((c, k) => (Number.isFinite(c) ? [k] : []));
  const atEdge = finite.length === 0 || best === finite[0] || best === finite[finite.length - 1];
  const problem: MatchProblem | null =
    atEdge || !(gain > 0) ? "edge"
    : rmsResidual > (opts.maxRelResidual ?? 0.1) * depth * gain ? "residual"
    : uncertaintyUm > (opts.maxUncertaintyUm ?? fwhmUm / 4) ? "flat"
    : null;
  return { shiftUm, gain, rmsResidual, uncertaintyUm, problem };
}

export interface PairShiftOptions {
  /** Score noise (default 1 % of the curve depth, times the gain); sets the uncertainty. */
  noiseFloor?: number;
  /** Largest acceptable standard uncertainty of Δz (µm); default the curve's FWHM / 4. */
  maxUncertaintyUm?: number;
  /** The gain g the pair implies must lie within [1/maxGain, maxGain] (default 2). */
  maxGain?: number;
}

/**
 * Focus between two images at zLo < zHi that bracket it, from the shape of the calibration
 * curve alone: the Δz in [zLo, zHi] (where the curve reaches both images) at which one gain g explains both scores, i.e.
 * bLo·b_calib(zHi − Δz) = bHi·b_calib(zLo − Δz). For a symmetric curve bLo = bHi gives the
 * midpoint whatever g, so a sample whose curve differs from the calibration's by a factor is
 * still found. Two images alone cannot tell "between them" from "beyond one of them": the
 * caller establishes the bracket (e.g. a lower score at a third image between the two).
 * Problems: "edge" when no Δz in [zLo, zHi] fits, "residual" when the implied gain is
 * implausible, "flat" when the scores do not pin Δz.
 */
export function pairShift(curve: CalibrationCurve, zLoUm: number, zHiUm: number, bLo: number, bHi: number, opts: PairShiftOptions = {}): ShiftMatch {
  const none = (problem: MatchProblem): ShiftMatch => ({ shiftUm: Number.NaN, gain: Number.NaN, rmsResidual: Number.NaN, uncertaintyUm: Infinity, problem });
  if (!(zHiUm > zLoUm) || !(bLo > 0 && bHi > 0)) return none("edge");
  const c = (zUm: number): number => curveAt(curve, zUm);
  const f = (d: number): number => bLo * c(zHiUm - d) - bHi * c(zLoUm - d);
  // Only where the curve reaches both images: a pair wider than half the curve's extent cannot place focus near either image.
  const [curveLoUm, curveHiUm] = [curve.zUm[0], curve.zUm[curve.zUm.length - 1]];
  let lo = Math.max(zLoUm, zHiUm - curveHiUm);
  let hi = Math.min(zHiUm, zLoUm - curveLoUm);
  if (!(hi > lo)) return none("edge");
  const fLo = f(lo);
  if (!Number.isFinite(fLo) || !Number.isFinite(f(hi)) || Math.sign(fLo) === Math.sign(f(hi))) return none("edge");
  for (let i = 0; i < 60 && hi - lo > 1e-6; i++) {
    const mid = (lo + hi) / 2;
    if (Math.sign(f(mid)) === Math.sign(fLo)) lo = mid;
    else hi = mid;
  }
  const shiftUm = (lo + hi) / 2;
  const cLo = c(zLoUm - shiftUm);
  const cHi = c(zHiUm - shiftUm);
  const gain = (bLo + bHi) / (cLo + cHi);
  const maxGain = opts.maxGain ?? 2;
  if (!(gain >= 1 / maxGain && gain <= maxGain)) return { ...none("residual"), shiftUm, gain };
  // Δz's sensitivity to score noise: |∂f/∂b| over |∂f/∂Δz| (implicit function theorem).
  const { depth, fwhmUm } = curveShape(curve);
  const h = Math.max(1e-3, median(curve.zUm.slice(1).map((z, i) => z - curve.zUm[i])) / 2);
  const dfdd = -bLo * slopeAt(curve, zHiUm - shiftUm, h) + bHi * slopeAt(curve, zLoUm - shiftUm, h);
  const sigmaB = gain * (opts.noiseFloor ?? 0.01 * depth);
  const uncertaintyUm = dfdd !== 0 ? (sigmaB * Math.hypot(cHi, cLo)) / Math.abs(dfdd) : Infinity;
  const problem = uncertaintyUm > (opts.maxUncertaintyUm ?? fwhmUm / 4) ? "flat" : null;
  return { shiftUm, gain, rmsResidual: 0, uncertaintyUm, problem };
}

/** Central-difference slope of the curve at zUm, one-sided at the ends of its domain. */
function slopeAt(curve: CalibrationCurve, zUm: number, h: number): number {
  const lo = Math.max(curve.zUm[0], zUm - h);
  const hi = Math.min(curve.zUm[curve.zUm.length - 1], zUm + h);
  return hi > lo ? (curveAt(curve, hi) - curveAt(curve, lo)) / (hi - lo) : 0;
}

function refine(sse: (x: number) => number, lo: number, hi: number, x0: number, f0: number): number {
  if (!(hi > lo)) return x0;
  const gen = goldenSectionSearch(lo, hi, { toleranceUm: 1e-4, maxEvaluations: 60, sense: "min" });
  let step = gen.next(Number.NaN);
  while (!step.done) step = gen.next(sse(step.value));
  return step.value.fx < f0 ? step.value.x : x0;
}

export interface FieldMatchOptions extends ShiftMatchOptions {
  /** A tile whose Δz differs from the median by more than this and 3 robust SDs is an outlier (µm, default 1). */
  outlierFloorUm?: number;
}

/** Per-tile matches aggregated over the ROI. */
export interface FieldMatch {
  /** Robust aggregate Δz (mean of the inlier tiles), null when `problem` is set. */
  shiftUm: number | null;
  /** Per tile (row-major over the ROI): its Δz, null when invalid, untrustworthy or an outlier. */
  tileShiftsUm: (number | null)[];
  /** Tiles with ≥ 2 valid measurements. */
  validTiles: number;
  inlierTiles: number;
  /** Median RMS residual of the valid tiles. */
  rmsResidual: number;
  /** Largest uncertainty among the inlier tiles divided by √inliers (µm). */
  uncertaintyUm: number;
  /**
   * "no-texture": no tile has 2 valid measurements; "unbracketed": the autofocus refinement
   * found no image triple around focus (`refine`), or a blur-guided pair did not hold
   * (`blurGuidedAnswer`); "disputed": a run's first three images alone answer, and blur matching
   * between them puts focus elsewhere (`blurConfirmed`); otherwise the most common problem when
   * most valid tiles have one.
   */
  problem: "no-texture" | "unbracketed" | "disputed" | MatchProblem | null;
}

/**
 * Matches each tile separately (`tiles[i][t]` is tile t's score in image i at `zUm[i]`; NaN
 * marks an invalid tile), then aggregates: when most valid tiles match without a problem,
 * tiles far from their median (MAD rule) are dropped and the rest averaged.
 */
export function matchField(curve: CalibrationCurve, zUm: readonly number[], tiles: readonly (readonly number[])[], opts: FieldMatchOptions = {}): FieldMatch {
  const nTiles = tiles[0]?.length ?? 0;
  const matches = Array.from({ length: nTiles }, (_, t) => {
    const keep = zUm.map((_, i) => i).filter((i) => Number.isFinite(tiles[i][t]));
    return keep.length >= 2 ? matchShift(curve, keep.map((i) => zUm[i]), keep.map((i) => tiles[i][t]), opts) : null;
  });
  return aggregateTiles(matches, opts.outlierFloorUm);
}

/** `pairShift` per tile (`tilesLo[t]`, `tilesHi[t]`: tile t's scores at zLo and zHi; NaN = invalid), aggregated as `matchField`. */
export function matchPairField(curve: CalibrationCurve, zLoUm: number, zHiUm: number, tilesLo: readonly number[], tilesHi: readonly number[], opts: PairShiftOptions & { outlierFloorUm?: number } = {}): FieldMatch {
  const matches = tilesLo.map((bLo, t) => (Number.isFinite(bLo) && Number.isFinite(tilesHi[t]) ? pairShift(curve, zLoUm, zHiUm, bLo, tilesHi[t], opts) : null));
  return aggregateTiles(matches, opts.outlierFloorUm);
}

/**
 * Per-tile matches (null = invalid tile) → field match: when most valid tiles match without a
 * problem, tiles far from their median (MAD rule, at least `outlierFloorUm`, default 1 µm)
 * are dropped and the rest averaged; otherwise the most common problem.
 */
function aggregateTiles(matches: readonly (ShiftMatch | null)[], outlierFloorUm = 1): FieldMatch {
  const valid = matches.filter((m): m is ShiftMatch => m !== null);
  const none = { shiftUm: null, tileShiftsUm: matches.map(() => null), validTiles: valid.length, inlierTiles: 0, uncertaintyUm: Infinity };
  if (valid.length === 0) return { ...none, rmsResidual: Number.NaN, problem: "no-texture" };
  const residuals = valid.map((m) => m.rmsResidual).filter(Number.isFinite);
  const rmsResidual = residuals.length ? median(residuals) : Number.NaN;
  const good = valid.filter((m) => m.problem === null);
  if (good.length * 2 <= valid.length) return { ...none, rmsResidual, problem: mostCommon(valid.map((m) => m.problem as MatchProblem)) };

  const med = median(good.map((m) => m.shiftUm));
  const mad = median(good.map((m) => Math.abs(m.shiftUm - med)));
  const limit = Math.max(3 * 1.4826 * mad, outlierFloorUm);
  const isInlier = (m: ShiftMatch | null): m is ShiftMatch => m !== null && m.problem === null && Math.abs(m.shiftUm - med) <= limit;
  const inliers = matches.filter(isInlier);
  return {
    shiftUm: inliers.reduce((s, m) => s + m.shiftUm, 0) / inliers.length,
    tileShiftsUm: matches.map((m) => (isInlier(m) ? m.shiftUm : null)),
    validTiles: valid.length,
    inlierTiles: inliers.length,
    rmsResidual,
    uncertaintyUm: Math.max(...inliers.map((m) => m.uncertaintyUm)) / Math.sqrt(inliers.length),
    problem: null,
  };
}

function mostCommon<T>(xs: readonly T[]): T {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}
