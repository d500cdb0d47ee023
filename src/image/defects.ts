import type { Rect } from "../focus/types.js";

/**
 * Isolated defect pixels — a hot pixel (or a cosmic-ray hit, or a dead pixel) that stands far
 * above (below) all eight of its neighbours. A hot pixel is in every frame at the same place
 * and sharp at any defocus; in a low-contrast, out-of-focus window a few of them read to the
 * DeepFocus CNN as in-focus structure (0.1 % hot pixels: +12 % on a texture blurred by a
 * 4-px Gaussian, `test/inference/deepfocus.test.ts`; 0.05 % lowered the held-out pollen stack's
 * readings 85 µm out from 68 to 59 px, docs/benchmarks.md). They are removed from the frame
 * under the DeepFocus windows before the model sees them (writeWindows: the DeepFocus scorer
 * and the RL refocus's blur estimate).
 *
 * A pixel is a spike when it lies beyond the range [lo, hi] of its 8 neighbours by more than
 * SPIKE_SPREAD_MULTIPLE × (hi − lo) + 1 count; it is then set to the nearer end of that range.
 * Gaussian noise practically never qualifies (a pixel would have to exceed the maximum of its
 * eight neighbours by four times their range, ≈ 12 SD): 6 pixels in a million on white noise,
 * 5 in ten thousand on an image's edge, where a pixel has 5 distinct neighbours (measured on
 * 200 frames of 256 × 256), each set within the noise of its neighbours. In dark, shot-noise-limited frames a
 * few Poisson outliers do (4–33 pixels per frame on a dark-field stack and a star field,
 * docs/benchmarks.md), and clipping them only lowers the noise. Nor does a focused point on
 * pixels up to 1.5× the Nyquist pitch λ/(4·NA): centred on a pixel, its Airy disc still puts
 * enough of its peak into the neighbours (pixel-integrated: peak − neighbours' maximum 0.72,
 * 4 × their range 0.86 of the peak; at 2× Nyquist 0.86 against 0.45, so coarser sampling can
 * clip the peak of a point that falls on a pixel's centre — the in-focus reading of such beads
 * then rises a little). A hot pixel needs to stand ≈ 12 noise SD above its surroundings.
 */
export const SPIKE_SPREAD_MULTIPLE = 4;

/**
 * The rectangle `rect` (inside the image) of the width × height image `src` (row-major), as
 * float32 in `out[offset ..]` (row-major, rect.width × rect.height; a new array by default),
 * with its isolated spikes (see above) set to the nearer end of their neighbours' range. Each
 * pixel is judged against its 8 neighbours in the image, the rectangle's edge pixels too; one
 * on the image's edge against its mirror images across that edge (the edge pixel itself is not
 * repeated, so a hot pixel there is not paired with a copy of itself).
 */
export function spikeFreeRegion(src: ArrayLike<number>, width: number, height: number, rect: Rect, out: Float32Array = new Float32Array(rect.width * rect.height), offset = 0): Float32Array {
  const w = rect.width + 2;
  const padded = new Float32Array(w * (rect.height + 2));
  const cols = Int32Array.from({ length: w }, (_, i) => reflectAboutEdges(rect.x - 1 + i, width));
  for (let y = 0; y < rect.height + 2; y++) {
    const row = reflectAboutEdges(rect.y - 1 + y, height) * width;
    for (let x = 0; x < w; x++) padded[y * w + x] = src[row + cols[x]];
  }
  suppressSpikes(padded, rect.width, rect.height, out, offset);
  return out;
}

/** Index i reflected into [0, n) about the first and last element (…, 2, 1, 0, 1, 2, …, n − 2, n − 1, n − 2, …). */
function reflectAboutEdges(i: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * n - 2;
  const m = ((i % p) + p) % p;
  return m < n ? m : p - m;
}

/** Writes the w × h interior of the (w + 2) × (h + 2) image `padded` to `out[offset ..]`, spikes replaced. */
function suppressSpikes(padded: Float32Array, w: number, h: number, out: Float32Array, offset: number): void {
  const k = SPIKE_SPREAD_MULTIPLE;
  const s = w + 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0, i = (y + 1) * s + 1, o = offset + y * w; x < w; x++, i++, o++) {
      const p = padded[i];
      out[o] = p;
      // The four edge neighbours alone rule out almost every pixel (their range lies within the
      // eight's). Branch-free: max(a, b) = (a + b + |a − b|) / 2 — on noise, compare-and-branch
      // code mispredicts and runs 3× slower.
      const l = padded[i - 1];
      const r = padded[i + 1];
      const u = padded[i - s];
      const d = padded[i + s];
      const lr = l + r;
      const ud = u + d;
      const dlr = Math.abs(l - r);
      const dud = Math.abs(u - d);
      const hi4 = (lr + dlr + ud + dud + Math.abs(lr + dlr - ud - dud)) / 4;
      const lo4 = (lr - dlr + ud - dud - Math.abs(lr - dlr - ud + dud)) / 4;
      if (Math.abs(p - (hi4 + lo4) / 2) <= (k + 0.5) * (hi4 - lo4) + 1) continue;
      let lo = lo4;
      let hi = hi4;
      for (const v of [padded[i - s - 1], padded[i - s + 1], padded[i + s - 1], padded[i + s + 1]]) {
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
      const margin = k * (hi - lo) + 1;
      if (p > hi + margin) out[o] = hi;
      else if (p < lo - margin) out[o] = lo;
    }
  }
}
