/**
 * Isolated defect pixels — a hot pixel (or a cosmic-ray hit, or a dead pixel) that stands far
 * above (below) all eight of its neighbours. A hot pixel is in every frame at the same place
 * and sharp at any defocus; in a low-contrast, out-of-focus window a few of them read to the
 * DeepFocus CNN as in-focus structure (0.1 % hot pixels: +12 % on a texture blurred by a
 * 4-px Gaussian, `test/inference/deepfocus.test.ts`; 0.05 % lowered the held-out pollen stack's
 * readings 85 µm out from 68 to 59 px, docs/benchmarks.md). The DeepFocus scorer removes them
 * from each window before the model sees it.
 *
 * A pixel is a spike when it lies beyond the range [lo, hi] of its 8 neighbours by more than
 * SPIKE_SPREAD_MULTIPLE × (hi − lo) + 1 count; it is then set to the nearer end of that range.
 * Gaussian noise practically never qualifies (a pixel would have to exceed the maximum of its
 * eight neighbours by four times their range, ≈ 12 SD); in dark, shot-noise-limited frames a
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
 * Replaces the isolated spikes (see above) of the w × h image at `data[offset ..]` in place,
 * leaving its 1-px border as it is; `scratch` (≥ w·h) holds a copy. Returns how many it replaced.
 */
export function suppressSpikes(data: Float32Array, offset: number, w: number, h: number, scratch: Float32Array): number {
  const k = SPIKE_SPREAD_MULTIPLE;
  scratch.set(data.subarray(offset, offset + w * h));
  let replaced = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let i = y * w + 1, end = y * w + w - 1; i < end; i++) {
      const p = scratch[i];
      // The four edge neighbours alone rule out almost every pixel (their range lies within the
      // eight's). Branch-free: max(a, b) = (a + b + |a − b|) / 2 — on noise, compare-and-branch
      // code mispredicts and runs 3× slower.
      const l = scratch[i - 1];
      const r = scratch[i + 1];
      const u = scratch[i - w];
      const d = scratch[i + w];
      const lr = l + r;
      const ud = u + d;
      const dlr = Math.abs(l - r);
      const dud = Math.abs(u - d);
      const hi4 = (lr + dlr + ud + dud + Math.abs(lr + dlr - ud - dud)) / 4;
      const lo4 = (lr - dlr + ud - dud - Math.abs(lr - dlr - ud + dud)) / 4;
      if (Math.abs(p - (hi4 + lo4) / 2) <= (k + 0.5) * (hi4 - lo4) + 1) continue;
      let lo = lo4;
      let hi = hi4;
      for (const v of [scratch[i - w - 1], scratch[i - w + 1], scratch[i + w - 1], scratch[i + w + 1]]) {
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
      const margin = k * (hi - lo) + 1;
      if (p > hi + margin) data[offset + i] = hi;
      else if (p < lo - margin) data[offset + i] = lo;
      else continue;
      replaced++;
    }
  }
  return replaced;
}
