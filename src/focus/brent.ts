import { received, type SearchGenerator } from "./search.js";

export interface BrentOptions {
  /** Absolute tolerance on the position of the maximum (µm). */
  toleranceUm: number;
  /** Evaluations allowed, the first one included (≥ 1). */
  maxEvaluations: number;
  /** First point to evaluate (clamped into [lo, hi]); default: the golden-section point of [lo, hi]. */
  x0?: number;
}

export interface BrentResult {
  /** Best point evaluated. */
  x: number;
  /** Score there. */
  fx: number;
  evaluations: number;
  /** False when `maxEvaluations` ran out before the tolerance was reached. */
  converged: boolean;
}

const GOLDEN = 0.5 * (3 - Math.sqrt(5));
const SQRT_EPS = Math.sqrt(2.220446049250313e-16);

/**
 * Bounded Brent maximisation on [lo, hi]: golden-section steps with parabolic interpolation,
 * the algorithm of scipy's `fminbound` (Brent 1973, Numerical Recipes), which Micro-Manager's
 * OughtaFocus uses. Yields z values to evaluate and expects each one's score back; stops
 * when the maximum is located within about `toleranceUm`, or after `maxEvaluations`.
 * Endpoints are never evaluated. Assumes a unimodal score on [lo, hi].
 */
export function* brentMaximize(lo: number, hi: number, opts: BrentOptions): SearchGenerator<BrentResult> {
  if (!(hi > lo)) throw new RangeError(`brentMaximize needs lo < hi, got [${lo}, ${hi}]`);
  if (!(opts.toleranceUm > 0) || !(opts.maxEvaluations >= 1)) throw new RangeError("brentMaximize needs toleranceUm > 0 and maxEvaluations ≥ 1");
  let a = lo;
  let b = hi;
  let xf = opts.x0 === undefined ? a + GOLDEN * (b - a) : Math.min(hi, Math.max(lo, opts.x0));
  // minimise f = −score
  let fx = -received(yield xf);
  let evaluations = 1;
  let nfc = xf, fnfc = fx, fulc = xf, ffulc = fx;
  let rat = 0;
  let e = 0;
  for (;;) {
    const xm = 0.5 * (a + b);
    const tol1 = SQRT_EPS * Math.abs(xf) + opts.toleranceUm / 3;
    const tol2 = 2 * tol1;
    if (Math.abs(xf - xm) <= tol2 - 0.5 * (b - a)) return { x: xf, fx: -fx, evaluations, converged: true };
    if (evaluations >= opts.maxEvaluations) return { x: xf, fx: -fx, evaluations, converged: false };
    let golden = true;
    if (Math.abs(e) > tol1) {
      let r = (xf - nfc) * (fx - ffulc);
      let q = (xf - fulc) * (fx - fnfc);
      let p = (xf - fulc) * q - (xf - nfc) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      q = Math.abs(q);
      r = e;
      e = rat;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - xf) && p < q * (b - xf)) {
        golden = false;
        rat = p / q;
        const x = xf + rat;
        if (x - a < tol2 || b - x < tol2) rat = xm - xf >= 0 ? tol1 : -tol1;
      }
    }
    if (golden) {
      e = xf >= xm ? a - xf : b - xf;
      rat = GOLDEN * e;
    }
    const x = xf + (rat >= 0 ? 1 : -1) * Math.max(Math.abs(rat), tol1);
    const fu = -received(yield x);
    evaluations++;
    if (fu <= fx) {
      if (x >= xf) a = xf;
      else b = xf;
      fulc = nfc; ffulc = fnfc;
      nfc = xf; fnfc = fx;
      xf = x; fx = fu;
    } else {
      if (x < xf) a = x;
      else b = x;
      if (fu <= fnfc || nfc === xf) {
        fulc = nfc; ffulc = fnfc;
        nfc = x; fnfc = fu;
      } else if (fu <= ffulc || fulc === xf || fulc === nfc) {
        fulc = x; ffulc = fu;
      }
    }
  }
}
