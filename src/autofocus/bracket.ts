import { goldenStep } from "../focus/golden.js";
import { defaultSpacingUm } from "./calibration.js";
import type { DeepFocusRun } from "./deepfocus.js";

/** Images in a triple: the paper's first images z1, z1 ± s, and each refinement triple e, e ± h. */
export const TRIPLE_IMAGES = 3;

/**
 * z1 − s, z1, z1 + s (ascending), moved inward as a whole — and squeezed when the range is
 * narrower than 2s — so that all three lie within [minUm, maxUm].
 */
export function initialPoints(z1Um: number, spacingUm: number, minUm: number, maxUm: number): number[] {
  const s = Math.min(spacingUm, (maxUm - minUm) / 2);
  const mid = Math.min(maxUm - s, Math.max(minUm + s, z1Um));
  return [mid - s, mid, mid + s];
}

/**
 * The next golden-section point for a minimum, from the images so far (NaN scores count as
 * worst): bracket around the lowest score, golden step inside it or expansion past its
 * lower end; clamped to [minUm, maxUm]. Null when that point was already imaged.
 */
export function nextGoldenPoint(points: readonly { zUm: number; score: number }[], minUm: number, maxUm: number): number | null {
  const sorted = [...points].sort((p, q) => p.zUm - q.zUm);
  const f = (i: number): number => (Number.isFinite(sorted[i].score) ? sorted[i].score : Infinity);
  let best = 0;
  for (let i = 1; i < sorted.length; i++) if (f(i) < f(best)) best = i;
  const mid = Math.min(sorted.length - 2, Math.max(1, best));
  const [a, b, c] = [mid - 1, mid, mid + 1];
  const z = goldenStep({ a: sorted[a].zUm, b: sorted[b].zUm, c: sorted[c].zUm, fa: f(a), fb: f(b), fc: f(c) }, "min");
  const zUm = Math.min(maxUm, Math.max(minUm, z));
  return sorted.some((p) => Math.abs(p.zUm - zUm) < 1e-6) ? null : zUm;
}

/** Spacing of a DeepFocus run's first three images (µm): `options.spacingUm`, default 2·FWHM, at most 1/8 of the calibration curve's extent. */
export function initialSpacingUm(run: DeepFocusRun): number {
  return run.options.spacingUm ?? defaultSpacingUm(run.profile);
}

/** First half-span h of a DeepFocus run's refinement triples e − h, e, e + h (µm): `options.refineHalfSpanUm`, default FWHM / 8. */
export function refineHalfSpanUm(run: DeepFocusRun): number {
  return run.options.refineHalfSpanUm ?? run.profile.fwhmUm / 8;
}

/** Images a DeepFocus run may take for its search and refinement: its budget less the verification image. */
export function imageBudget(run: DeepFocusRun): number {
  return run.options.maxImages - (run.options.verify ? 1 : 0);
}

/**
 * The budget leaves room for one refinement triple after the paper's first three images, and not
 * for two (budgets 6–8, the verification image not counted). Such a run's one triple must bracket
 * focus, so its refinement starts where blur matching puts focus even when the cross-check rates
 * an image far sharper (refine.ts `startEstimate`).
 */
export function oneRefinementTriple(run: DeepFocusRun): boolean {
  const left = imageBudget(run) - TRIPLE_IMAGES;
  return left >= TRIPLE_IMAGES && left < 2 * TRIPLE_IMAGES;
}
