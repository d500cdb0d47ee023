import { solveLinear } from "./linalg.js";
import { median } from "./stats.js";

/**
 * Moffat profile parameters: m(z) = c + A·(1 + ((z − z0)/α)²)^(−β).
 * One form covers both curve shapes: A > 0 is a peak at z0 (a sharpness curve); A < 0 is a
 * dip (the DeepFocus defocus curve b(z), minimal at focus: it rises from c + A at z0 towards
 * the plateau c far from focus). FWHM (full width at half height/depth) = 2α·√(2^(1/β) − 1).
 */
export interface MoffatParams {
  A: number;
  /** Centre (µm). */
  z0: number;
  /** Width parameter α > 0 (µm). */
  alpha: number;
  /** Shape exponent β > 0 (1 = Lorentzian; large β → Gaussian). */
  beta: number;
  /** Baseline (value far from z0). */
  c: number;
}

export interface MoffatFit extends MoffatParams {
  fwhmUm: number;
  /** Root-mean-square residual of the fit, in score units. */
  rmse: number;
  iterations: number;
}

/** Evaluates the Moffat profile at z. */
export function moffat(p: MoffatParams, z: number): number {
  const u = (z - p.z0) / p.alpha;
  return p.c + p.A * (1 + u * u) ** -p.beta;
}

/** Full width at half maximum of a Moffat profile: 2α·√(2^(1/β) − 1). */
export function moffatFwhm(alpha: number, beta: number): number {
  return 2 * alpha * Math.sqrt(2 ** (1 / beta) - 1);
}

/**
 * Least-squares Moffat fit by Levenberg–Marquardt (Marquardt's diagonal scaling, analytic
 * Jacobian; α and β are fitted through their logarithms so they stay positive). Without
 * `init`, the start is guessed from the data: peak or dip from whichever extreme stands
 * further from the median of the outer samples, α from the half-height width, β = 1.
 * @throws RangeError with fewer than 5 points.
 */
export function fitMoffat(zs: readonly number[], ys: readonly number[], init?: Partial<MoffatParams>): MoffatFit {
  const n = zs.length;
  if (ys.length !== n || n < 5) throw new RangeError("fitMoffat needs ≥ 5 (z, y) pairs");
  const p0 = { ...guess(zs, ys), ...init };
  let p = [p0.A, p0.z0, Math.log(p0.alpha), Math.log(p0.beta), p0.c];
  let sse = sumSquares(zs, ys, p);
  let lambda = 1e-3;
  let iterations = 0;
  for (; iterations < 200; iterations++) {
    const { jtj, jtr } = normalEquations(zs, ys, p);
    let improved = false;
    while (lambda < 1e12) {
      const damped = jtj.map((row, i) => row.map((v, j) => (i === j ? v * (1 + lambda) : v)));
      const step = solveLinear(damped, jtr);
      const trial = step ? p.map((v, i) => v + step[i]) : null;
      const trialSse = trial ? sumSquares(zs, ys, trial) : Infinity;
      if (trial && trialSse < sse) {
        const done = sse - trialSse <= 1e-12 * sse;
        p = trial;
        sse = trialSse;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = !done;
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  const [A, z0, la, lb, c] = p;
  const alpha = Math.exp(la);
  const beta = Math.exp(lb);
  return { A, z0, alpha, beta, c, fwhmUm: moffatFwhm(alpha, beta), rmse: Math.sqrt(sse / n), iterations };
}

/** Parameter vector [A, z0, ln α, ln β, c] → MoffatParams. */
const params = (p: readonly number[]): MoffatParams => ({ A: p[0], z0: p[1], alpha: Math.exp(p[2]), beta: Math.exp(p[3]), c: p[4] });

function sumSquares(zs: readonly number[], ys: readonly number[], p: readonly number[]): number {
  const m = params(p);
  let s = 0;
  for (let i = 0; i < zs.length; i++) s += (ys[i] - moffat(m, zs[i])) ** 2;
  return Number.isFinite(s) ? s : Infinity;
}

/** JᵀJ and Jᵀr for the residuals r = y − m(z) with respect to [A, z0, ln α, ln β, c]. */
function normalEquations(zs: readonly number[], ys: readonly number[], p: readonly number[]): { jtj: number[][]; jtr: number[] } {
  const m = params(p);
  const { A, z0, alpha, beta } = m;
  const jtj = Array.from({ length: 5 }, () => new Array<number>(5).fill(0));
  const jtr = new Array<number>(5).fill(0);
  for (let i = 0; i < zs.length; i++) {
    const u = (zs[i] - z0) / alpha;
    const q = 1 + u * u;
    const g = q ** -beta;
    const dq = (2 * A * beta * g) / q;
    const j = [g, (dq * u) / alpha, dq * u * u, -A * beta * g * Math.log(q), 1];
    const r = ys[i] - moffat(m, zs[i]);
    for (let a = 0; a < 5; a++) {
      jtr[a] += j[a] * r;
      for (let b = 0; b < 5; b++) jtj[a][b] += j[a] * j[b];
    }
  }
  return { jtj, jtr };
}

function guess(zs: readonly number[], ys: readonly number[]): MoffatParams {
  const order = zs.map((_, i) => i).sort((i, j) => zs[i] - zs[j]);
  const k = Math.max(1, Math.floor(zs.length / 8));
  const c = median([...order.slice(0, k), ...order.slice(-k)].map((i) => ys[i]));
  let iMax = 0;
  let iMin = 0;
  for (let i = 1; i < ys.length; i++) {
    if (ys[i] > ys[iMax]) iMax = i;
    if (ys[i] < ys[iMin]) iMin = i;
  }
  const peak = ys[iMax] - c >= c - ys[iMin];
  const i0 = peak ? iMax : iMin;
  const A = ys[i0] - c;
  const half = zs.filter((_, i) => Math.abs(ys[i] - c) >= Math.abs(A) / 2);
  const span = Math.max(...half) - Math.min(...half);
  const dz = (zs[order[order.length - 1]] - zs[order[0]]) / Math.max(1, zs.length - 1);
  return { A, z0: zs[i0], alpha: Math.max(span / 2, dz), beta: 1, c };
}
