/**
 * Image-quality measures of the refocus benchmark and tests, matching scripts/refocus/losses.py.
 *
 * - PSNR (dB) = 10·log10(L² / MSE) with L = the reference's data range (max − min): a
 *   brightfield image with a bright background and a dim one give comparable numbers.
 * - SSIM (Wang et al. 2004): Gaussian window σ = 1.5 px (11 taps, 'valid' region only),
 *   C1 = (0.01 L)², C2 = (0.03 L)², same L; the mean over the map.
 */

function range(ref: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ref.length; i++) {
    lo = Math.min(lo, ref[i]);
    hi = Math.max(hi, ref[i]);
  }
  return Math.max(hi - lo, 1e-6);
}

export function psnr(image: ArrayLike<number>, ref: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < ref.length; i++) se += (image[i] - ref[i]) ** 2;
  const mse = Math.max(se / ref.length, 1e-12);
  return 10 * Math.log10(range(ref) ** 2 / mse);
}

const TAPS = 11;
const KERNEL = (() => {
  const k = Array.from({ length: TAPS }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
})();

/** 'Valid' separable Gaussian filter of a width × height image. */
function blur(src: Float64Array, width: number, height: number): Float64Array {
  const w1 = width - TAPS + 1;
  const h1 = height - TAPS + 1;
  const tmp = new Float64Array(w1 * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < w1; x++) {
      let s = 0;
      for (let k = 0; k < TAPS; k++) s += KERNEL[k] * src[y * width + x + k];
      tmp[y * w1 + x] = s;
    }
  const out = new Float64Array(w1 * h1);
  for (let y = 0; y < h1; y++)
    for (let x = 0; x < w1; x++) {
      let s = 0;
      for (let k = 0; k < TAPS; k++) s += KERNEL[k] * tmp[(y + k) * w1 + x];
      out[y * w1 + x] = s;
    }
  return out;
}

export function ssim(image: ArrayLike<number>, ref: ArrayLike<number>, width: number, height: number): number {
  const L = range(ref);
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  const n = width * height;
  const a = Float64Array.from({ length: n }, (_, i) => image[i]);
  const b = Float64Array.from({ length: n }, (_, i) => ref[i]);
  const ma = blur(a, width, height);
  const mb = blur(b, width, height);
  const aa = blur(a.map((v) => v * v), width, height);
  const bb = blur(b.map((v) => v * v), width, height);
  const ab = blur(a.map((v, i) => v * b[i]), width, height);
  let sum = 0;
  for (let i = 0; i < ma.length; i++) {
    const saa = aa[i] - ma[i] * ma[i];
    const sbb = bb[i] - mb[i] * mb[i];
    const sab = ab[i] - ma[i] * mb[i];
    sum += ((2 * ma[i] * mb[i] + c1) * (2 * sab + c2)) / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (saa + sbb + c2));
  }
  return sum / ma.length;
}
