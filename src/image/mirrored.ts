/** Mirror an index into [0, n) (symmetric reflection, period 2n). */
function mirror(i: number, n: number): number {
  const p = 2 * n;
  const m = ((i % p) + p) % p;
  return m < n ? m : p - 1 - m;
}

/**
 * Copies the w × h rectangle at (x0, y0) of `src` (a width × height image, row-major) into
 * `out` at `offset`, reflecting the image symmetrically wherever the rectangle leaves it.
 */
export function extractMirrored(src: ArrayLike<number>, width: number, height: number, x0: number, y0: number, w: number, h: number, out: Float32Array, offset = 0): void {
  const cols = Int32Array.from({ length: w }, (_, x) => mirror(x0 + x, width));
  for (let y = 0; y < h; y++) {
    const row = mirror(y0 + y, height) * width;
    const o = offset + y * w;
    for (let x = 0; x < w; x++) out[o + x] = src[row + cols[x]];
  }
}
