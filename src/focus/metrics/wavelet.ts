/**
 * Wavelet focus measures on a one-level orthonormal Haar DWT of the tile. Each 2×2 block
 * [p q; s t] (an odd last row/column is dropped) gives
 *   LL = (p+q+s+t)/2, LH = (p−q+s−t)/2, HL = (p+q−s−t)/2, HH = (p−q−s+t)/2.
 * Tiles smaller than 2×2 score 0.
 */
import type { Pixels } from "../metrics.js";
import type { Rect } from "../types.js";

/**
 * Accumulates over the Haar blocks: [Σ(|LH|+|HL|+|HH|), Σ(LH²+HL²+HH²), Σ LL², block count].
 * Coefficients are kept doubled (no /2) and rescaled at the end.
 */
function haarSums(d: Pixels, width: number, r: Rect, out: Float64Array): void {
  let abs = 0;
  let det2 = 0;
  let ll2 = 0;
  const bw = r.width >> 1;
  const bh = r.height >> 1;
  for (let by = 0; by < bh; by++) {
    const o = (r.y + 2 * by) * width + r.x;
    for (let i = o, end = o + 2 * bw; i < end; i += 2) {
      const p = d[i];
      const q = d[i + 1];
      const s = d[i + width];
      const t = d[i + width + 1];
      const ll = p + q + s + t;
      const lh = p - q + s - t;
      const hl = p + q - s - t;
      const hh = p - q - s + t;
      abs += Math.abs(lh) + Math.abs(hl) + Math.abs(hh);
      det2 += lh * lh + hl * hl + hh * hh;
      ll2 += ll * ll;
    }
  }
  out[0] = abs / 2;
  out[1] = det2 / 4;
  out[2] = ll2 / 4;
  out[3] = bw * bh;
}

const scratch = new Float64Array(4);

/**
 * Wavelet edge content (after Yang & Nelson 2003; Pertuz "WAVS"): mean over Haar blocks of
 * |LH| + |HL| + |HH|. Scales as k.
 */
export function ewc(d: Pixels, width: number, r: Rect): number {
  haarSums(d, width, r, scratch);
  return scratch[3] > 0 ? scratch[0] / scratch[3] : 0;
}

/**
 * Wavelet ratio (Xie et al. 2006; Pertuz "WAVR", one level): Σ(LH² + HL² + HH²) / Σ LL²,
 * the share of the tile's energy in the detail bands. Invariant to a uniform gain
 * (scale exponent 0); 0 for an all-zero tile.
 */
export function ws(d: Pixels, width: number, r: Rect): number {
  haarSums(d, width, r, scratch);
  return scratch[2] > 0 ? scratch[1] / scratch[2] : 0;
}
