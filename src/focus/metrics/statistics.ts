/** Focus measures from image statistics (Groen et al. 1985; Santos et al. 1997). */
import type { Pixels } from "../metrics.js";
import type { Rect } from "../types.js";

/**
 * Vollath F4 (Vollath 1987; Santos et al. 1997): mean over x ∈ [0, w−3] of
 * (I(x,y) − μ)·(I(x+1,y) − I(x+2,y)), i.e. lag-1 minus lag-2 horizontal autocorrelation.
 * Subtracting the tile mean μ removes the finite-tile boundary term μ·Σ(I(1,y) − I(w−1,y)) of
 * the raw form, which otherwise swamps the signal on small bright tiles. Scales as k².
 * Can be slightly negative on pure noise; tiles narrower than 3 px score 0.
 */
export function vollath(d: Pixels, width: number, r: Rect): number {
  if (r.width < 3 || r.height < 1) return 0;
  let f4 = 0;
  let sum = 0;
  let edge = 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    const o = y * width + r.x;
    let c0 = d[o];
    let c1 = d[o + 1];
    sum += c0 + c1;
    edge += c1 - d[o + r.width - 1];
    for (let i = o + 2, end = o + r.width; i < end; i++) {
      const c2 = d[i];
      f4 += c0 * (c1 - c2);
      sum += c2;
      c0 = c1;
      c1 = c2;
    }
  }
  return (f4 - (sum / (r.width * r.height)) * edge) / ((r.width - 2) * r.height);
}

/**
 * Normalised variance (Groen et al. 1985): population variance / mean of the tile (two-pass).
 * Compensates brightness only partly: scales as k (not invariant). 0 for a black tile.
 */
export function normvar(d: Pixels, width: number, r: Rect): number {
  const n = r.width * r.height;
  if (n === 0) return 0;
  let sum = 0;
  for (let y = r.y; y < r.y + r.height; y++) for (let i = y * width + r.x, end = i + r.width; i < end; i++) sum += d[i];
  const mean = sum / n;
  if (mean <= 0) return 0;
  let ss = 0;
  for (let y = r.y; y < r.y + r.height; y++)
    for (let i = y * width + r.x, end = i + r.width; i < end; i++) {
      const v = d[i] - mean;
      ss += v * v;
    }
  return ss / n / mean;
}
