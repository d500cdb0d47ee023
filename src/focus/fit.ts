import { solveLinear } from "./linalg.js";

export interface PolyFit {
  /** Coefficients in ascending order: y = coeffs[0] + coeffs[1]·x (+ coeffs[2]·x²). */
  coeffs: number[];
  /** Coefficient of determination 1 − SS_res/SS_tot (1 when the data are constant and fitted exactly). */
  r2: number;
}

/**
 * Least-squares polynomial fit of degree 1 or 2 (x centred and scaled internally for
 * conditioning). @throws RangeError with fewer than degree + 1 points or all x equal.
 */
export function polyFit(xs: readonly number[], ys: readonly number[], degree: 1 | 2): PolyFit {
  const n = xs.length;
  if (ys.length !== n || n < degree + 1) throw new RangeError(`polyFit of degree ${degree} needs ≥ ${degree + 1} (x, y) pairs`);
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const sx = Math.max(...xs.map((x) => Math.abs(x - mx)));
  if (!(sx > 0)) throw new RangeError("polyFit needs at least two distinct x");
  const us = xs.map((x) => (x - mx) / sx);
  const k = degree + 1;
  const ata = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => us.reduce((s, u) => s + u ** (i + j), 0)));
  const aty = Array.from({ length: k }, (_, i) => us.reduce((s, u, m) => s + u ** i * ys[m], 0));
  const d = solveLinear(ata, aty);
  if (!d) throw new RangeError(`polyFit of degree ${degree} is singular (too few distinct x)`);
  const coeffs =
    degree === 1
      ? [d[0] - (d[1] * mx) / sx, d[1] / sx]
      : [d[0] - (d[1] * mx) / sx + (d[2] * mx * mx) / (sx * sx), d[1] / sx - (2 * d[2] * mx) / (sx * sx), d[2] / (sx * sx)];
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  us.forEach((u, m) => {
    const fit = d.reduce((s, c, i) => s + c * u ** i, 0);
    ssRes += (ys[m] - fit) ** 2;
    ssTot += (ys[m] - my) ** 2;
  });
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes <= 1e-24 * (1 + my * my) ? 1 : 0;
  return { coeffs, r2 };
}

/**
 * DeepFocus convexity test (Shajkofci & Liebling 2020): the scores are "convex" when a
 * quadratic fits them better than a line (R²₂ > R²₁) and the parabola opens the expected
 * way: `extremum: "minimum"` (default; DeepFocus's defocus b(z), curvature > 0) or
 * `"maximum"` (classical sharpness, curvature < 0). Needs ≥ 3 points with distinct z.
 * Note it does not require the vertex to lie inside the sampled range.
 */
export function isConvex(zs: readonly number[], scores: readonly number[], extremum: "minimum" | "maximum" = "minimum"): boolean {
  if (zs.length < 3 || new Set(zs).size < 3) return false;
  const quad = polyFit(zs, scores, 2);
  const line = polyFit(zs, scores, 1);
  const curvature = quad.coeffs[2];
  const signOk = extremum === "minimum" ? curvature > 0 : curvature < 0;
  return signOk && quad.r2 > line.r2 + 1e-12;
}

export interface FitPeakOptions {
  /** Points used on each side of the sampled maximum (default 2, i.e. up to 5 points). */
  halfWindow?: number;
  /** "gaussian" (default): parabola on ln(score), used when all window scores are > 0, else a parabola on the scores. */
  model?: "gaussian" | "parabola";
}

/**
 * Sweep-and-fit peak position: fits a Gaussian (a parabola on the log of positive scores) or
 * a parabola to the sampled maximum and its neighbours and returns the vertex z, clamped to
 * the maximum's two neighbours. Returns null when the maximum lies at either edge of the
 * sweep, there are fewer than 3 points, or the fit does not open downwards.
 */
export function fitPeak(zs: readonly number[], scores: readonly number[], opts: FitPeakOptions = {}): number | null {
  if (zs.length !== scores.length || zs.length < 3) return null;
  const order = zs.map((_, i) => i).sort((i, j) => zs[i] - zs[j]);
  const z = order.map((i) => zs[i]);
  const s = order.map((i) => scores[i]);
  let best = 0;
  for (let i = 1; i < s.length; i++) if (s[i] > s[best]) best = i;
  if (best === 0 || best === s.length - 1) return null;
  const h = opts.halfWindow ?? 2;
  const lo = Math.max(0, best - h);
  const hi = Math.min(s.length - 1, best + h);
  const wz = z.slice(lo, hi + 1);
  const ws = s.slice(lo, hi + 1);
  if (new Set(wz).size < 3) return null;
  const useLog = (opts.model ?? "gaussian") === "gaussian" && ws.every((v) => v > 0);
  const [, c1, c2] = polyFit(wz, useLog ? ws.map(Math.log) : ws, 2).coeffs;
  if (!(c2 < 0)) return null;
  return Math.min(z[best + 1], Math.max(z[best - 1], -c1 / (2 * c2)));
}
