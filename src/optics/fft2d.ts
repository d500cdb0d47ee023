import FFT from "fft.js";

/**
 * 2-D FFTs on fft.js (radix-4, power-of-two sizes). Complex data is interleaved
 * (re, im, re, im, …), row-major.
 */

const plans = new Map<number, FFT>();

function plan(n: number): FFT {
  let p = plans.get(n);
  if (!p) {
    p = new FFT(n);
    plans.set(n, p);
  }
  return p;
}

/** Smallest power of two ≥ n (and ≥ 2). */
export function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/** Columns transformed together, so each row of the block is read as one contiguous run. */
const COLUMN_BLOCK = 16;

/** Transforms the first `colCount` columns of an interleaved complex `rows × cols` array in place. */
function columnPass(data: Float64Array, rows: number, cols: number, colCount: number, inverse: boolean): void {
  const fft = plan(rows);
  const len = 2 * rows;
  const src = new Float64Array(COLUMN_BLOCK * len);
  const dst = new Float64Array(COLUMN_BLOCK * len);
  const srcViews = Array.from({ length: COLUMN_BLOCK }, (_, b) => src.subarray(b * len, (b + 1) * len));
  const dstViews = Array.from({ length: COLUMN_BLOCK }, (_, b) => dst.subarray(b * len, (b + 1) * len));
  for (let c0 = 0; c0 < colCount; c0 += COLUMN_BLOCK) {
    const n = Math.min(COLUMN_BLOCK, colCount - c0);
    for (let r = 0; r < rows; r++) {
      const base = 2 * (r * cols + c0);
      for (let b = 0, o = 2 * r; b < n; b++, o += len) {
        src[o] = data[base + 2 * b];
        src[o + 1] = data[base + 2 * b + 1];
      }
    }
    for (let b = 0; b < n; b++) {
      if (inverse) fft.inverseTransform(dstViews[b], srcViews[b]);
      else fft.transform(dstViews[b], srcViews[b]);
    }
    for (let r = 0; r < rows; r++) {
      const base = 2 * (r * cols + c0);
      for (let b = 0, o = 2 * r; b < n; b++, o += len) {
        data[base + 2 * b] = dst[o];
        data[base + 2 * b + 1] = dst[o + 1];
      }
    }
  }
}

/** In-place square complex 2-D FFT of an interleaved `n × n` array; the inverse divides by n². */
export function complexFft2d(data: Float64Array, n: number, inverse: boolean): void {
  const fft = plan(n);
  const out = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) {
    const row = data.subarray(2 * n * r, 2 * n * (r + 1));
    if (inverse) fft.inverseTransform(out, row);
    else fft.transform(out, row);
    row.set(out);
  }
  columnPass(data, n, n, n, inverse);
}

/**
 * Real-input 2-D FFT of a `width × height` image (both powers of two). The spectrum is the
 * non-redundant half: `height` rows × (width/2 + 1) columns, interleaved complex. Rows are
 * transformed in pairs packed as one complex row, so a transform costs about half of a
 * complex one.
 */
export class RealFft2d {
  /** Complex columns of the half spectrum. */
  readonly halfWidth: number;

  constructor(readonly width: number, readonly height: number) {
    if (nextPow2(width) !== width || nextPow2(height) !== height) throw new Error(`FFT sizes must be powers of two ≥ 2, got ${width}×${height}`);
    this.halfWidth = width / 2 + 1;
  }

  /** Length (in numbers) of a half spectrum. */
  get spectrumLength(): number {
    return 2 * this.height * this.halfWidth;
  }

  forward(image: ArrayLike<number>, spectrum = new Float64Array(this.spectrumLength)): Float64Array {
    const { width: w, height: h, halfWidth: hw } = this;
    const fft = plan(w);
    const z = new Float64Array(2 * w);
    const Z = new Float64Array(2 * w);
    for (let r = 0; r < h; r += 2) {
      const a = r * w;
      const b = a + w;
      for (let x = 0; x < w; x++) {
        z[2 * x] = image[a + x];
        z[2 * x + 1] = image[b + x];
      }
      fft.transform(Z, z);
      const ra = 2 * hw * r;
      const rb = ra + 2 * hw;
      for (let k = 0; k < hw; k++) {
        const m = 2 * ((w - k) % w);
        const p = Z[2 * k], q = Z[2 * k + 1], s = Z[m], t = Z[m + 1];
        spectrum[ra + 2 * k] = (p + s) / 2;
        spectrum[ra + 2 * k + 1] = (q - t) / 2;
        spectrum[rb + 2 * k] = (q + t) / 2;
        spectrum[rb + 2 * k + 1] = (s - p) / 2;
      }
    }
    columnPass(spectrum, h, hw, hw, false);
    return spectrum;
  }

  /**
   * Inverse of `forward` (normalised). Only rows `firstRow … firstRow + rowCount − 1` of the
   * image are produced (the rest of `image` is left as is), which saves row transforms when
   * a caller crops. `spectrum` is left untouched unless `overwriteInput`.
   */
  inverse(spectrum: Float64Array, opts: { image?: Float64Array; overwriteInput?: boolean; firstRow?: number; rowCount?: number } = {}): Float64Array {
    const { width: w, height: h, halfWidth: hw } = this;
    const image = opts.image ?? new Float64Array(w * h);
    const first = (opts.firstRow ?? 0) & ~1;
    const end = Math.min(h, (opts.firstRow ?? 0) + (opts.rowCount ?? h));
    const spec = opts.overwriteInput ? spectrum : spectrum.slice();
    columnPass(spec, h, hw, hw, true);
    const fft = plan(w);
    const z = new Float64Array(2 * w);
    const out = new Float64Array(2 * w);
    for (let r = first; r < end; r += 2) {
      const ra = 2 * hw * r;
      const rb = ra + 2 * hw;
      for (let k = 0; k < hw; k++) {
        const ar = spec[ra + 2 * k], ai = spec[ra + 2 * k + 1], br = spec[rb + 2 * k], bi = spec[rb + 2 * k + 1];
        z[2 * k] = ar - bi;
        z[2 * k + 1] = ai + br;
        if (k > 0 && k < w / 2) {
          z[2 * (w - k)] = ar + bi;
          z[2 * (w - k) + 1] = br - ai;
        }
      }
      fft.inverseTransform(out, z);
      for (let x = 0; x < w; x++) {
        image[r * w + x] = out[2 * x];
        image[(r + 1) * w + x] = out[2 * x + 1];
      }
    }
    return image;
  }
}
