/**
 * 3×3-neighbourhood focus operators. Each is evaluated on the tile's interior pixels (the
 * 1-px border only feeds neighbours) and normalised by the interior pixel count
 * (w−2)(h−2); tiles narrower or shorter than 3 px score 0. The inner loops slide a 3-column
 * window along each row so every pixel is read once per row it touches.
 */
import type { Pixels } from "../metrics.js";
import type { Rect } from "../types.js";

/**
 * High-pass filter energy (Groen et al. 1985's "high-pass" family): mean over the interior of
 * (I − B)², B the 3×3 box mean (i.e. the response of the kernel (8·δ − neighbours)/9).
 * Scales as k² under a gain k.
 */
export function hpf(d: Pixels, width: number, r: Rect): number {
  if (r.width < 3 || r.height < 3) return 0;
  let sum = 0;
  for (let y = r.y + 1; y < r.y + r.height - 1; y++) {
    const o = y * width + r.x;
    let s0 = d[o - width] + d[o] + d[o + width];
    let s1 = d[o + 1 - width] + d[o + 1] + d[o + 1 + width];
    let c1 = d[o + 1];
    for (let i = o + 2, end = o + r.width; i < end; i++) {
      const c2 = d[i];
      const s2 = d[i - width] + c2 + d[i + width];
      const v = 9 * c1 - (s0 + s1 + s2);
      sum += v * v;
      s0 = s1;
      s1 = s2;
      c1 = c2;
    }
  }
  return sum / (81 * (r.width - 2) * (r.height - 2));
}

/**
 * Tenengrad (Tenenbaum 1970; Pertuz et al. 2013 "GRA6"/TENG): mean of Gx² + Gy² with the
 * 3×3 Sobel kernels, threshold 0. Scales as k².
 */
export function tenengrad(d: Pixels, width: number, r: Rect): number {
  if (r.width < 3 || r.height < 3) return 0;
  let sum = 0;
  for (let y = r.y + 1; y < r.y + r.height - 1; y++) {
    const o = y * width + r.x;
    // per column: v = top + 2·mid + bottom (for Gx), t = bottom − top (for Gy)
    let v0 = d[o - width] + 2 * d[o] + d[o + width];
    let t0 = d[o + width] - d[o - width];
    let v1 = d[o + 1 - width] + 2 * d[o + 1] + d[o + 1 + width];
    let t1 = d[o + 1 + width] - d[o + 1 - width];
    for (let i = o + 2, end = o + r.width; i < end; i++) {
      const a = d[i - width];
      const c = d[i + width];
      const v2 = a + 2 * d[i] + c;
      const t2 = c - a;
      const gx = v2 - v0;
      const gy = t0 + 2 * t1 + t2;
      sum += gx * gx + gy * gy;
      v0 = v1;
      v1 = v2;
      t0 = t1;
      t1 = t2;
    }
  }
  return sum / ((r.width - 2) * (r.height - 2));
}

/**
 * Variance of the Laplacian (Pech-Pacheco et al. 2000; Pertuz "LAPV"): population variance
 * of L = I(x−1)+I(x+1)+I(y−1)+I(y+1) − 4I over the interior. Scales as k².
 */
export function lapv(d: Pixels, width: number, r: Rect): number {
  if (r.width < 3 || r.height < 3) return 0;
  let sum = 0;
  let sum2 = 0;
  for (let y = r.y + 1; y < r.y + r.height - 1; y++) {
    const o = y * width + r.x;
    let c0 = d[o];
    let c1 = d[o + 1];
    for (let i = o + 2, end = o + r.width; i < end; i++) {
      const c2 = d[i];
      const l = c0 + c2 + d[i - 1 - width] + d[i - 1 + width] - 4 * c1;
      sum += l;
      sum2 += l * l;
      c0 = c1;
      c1 = c2;
    }
  }
  const n = (r.width - 2) * (r.height - 2);
  const mean = sum / n;
  return Math.max(0, sum2 / n - mean * mean);
}

/**
 * Sum-modified Laplacian (Nayar & Nakagawa 1994; Pertuz "LAPM"), step 1, threshold 0:
 * mean over the interior of |2I − I(x−1) − I(x+1)| + |2I − I(y−1) − I(y+1)|. Scales as k.
 */
export function sml(d: Pixels, width: number, r: Rect): number {
  if (r.width < 3 || r.height < 3) return 0;
  let sum = 0;
  for (let y = r.y + 1; y < r.y + r.height - 1; y++) {
    const o = y * width + r.x;
    let c0 = d[o];
    let c1 = d[o + 1];
    for (let i = o + 2, end = o + r.width; i < end; i++) {
      const c2 = d[i];
      const c1x2 = 2 * c1;
      sum += Math.abs(c1x2 - c0 - c2) + Math.abs(c1x2 - d[i - 1 - width] - d[i - 1 + width]);
      c0 = c1;
      c1 = c2;
    }
  }
  return sum / ((r.width - 2) * (r.height - 2));
}
