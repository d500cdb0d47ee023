import { nextPow2, RealFft2d } from "../optics/fft2d.js";
import { thumbDetail, thumbDetailWidthPx, type BlurThumb } from "./blur-match.js";

/** Fraction of the spatial frequencies whose power `peakPowerFraction` sums: the strongest 0.5 %. */
const PEAK_FREQUENCY_FRACTION = 0.005;

/**
 * The share of a thumbnail's detail power (`thumbDetail`, σ `sigmaPx`, Hann-windowed) held by its
 * strongest PEAK_FREQUENCY_FRACTION of spatial frequencies: near 1 for a periodic pattern, whose
 * power sits in a few harmonics; a tenth or so for noise, cells, tissue. At 10×/NA 0.3 (256-px
 * binning, σ 2 px) the held-out meshes read 0.65–0.98 within ±10 µm of focus, 0.93–0.97 at
 * best (with dust on the camera window too); every other held-out texture at most 0.45, the
 * simulator's unstained cells at most 0.17, the Abbe phase stacks at most 0.32
 * (docs/benchmarks.md, "Fine-detail pairs, and periodic samples"). NaN for a detail with no power.
 */
export function peakPowerFraction(t: BlurThumb, sigmaPx: number): number {
  const detail = thumbDetail(t, sigmaPx);
  const width = thumbDetailWidthPx(t);
  const height = detail.length / width;
  const fft = new RealFft2d(nextPow2(width), nextPow2(height));
  const windowed = new Float64Array(fft.width * fft.height);
  for (let y = 0; y < height; y++) {
    const wy = Math.sin((Math.PI * (y + 0.5)) / height) ** 2;
    for (let x = 0; x < width; x++) windowed[y * fft.width + x] = detail[y * width + x] * wy * Math.sin((Math.PI * (x + 0.5)) / width) ** 2;
  }
  const spectrum = fft.forward(windowed);
  // The half spectrum holds each frequency once, but for its first and (even width) last columns also their mirror images: weigh those by half.
  const power: number[] = [];
  for (let row = 0; row < fft.height; row++)
    for (let col = 0; col < fft.halfWidth; col++) {
      if (row === 0 && col === 0) continue;
      const k = 2 * (row * fft.halfWidth + col);
      const p = spectrum[k] ** 2 + spectrum[k + 1] ** 2;
      power.push(col === 0 || col === fft.halfWidth - 1 ? p / 2 : p);
    }
  const total = power.reduce((s, p) => s + p, 0);
  if (!(total > 0)) return Number.NaN;
  power.sort((a, b) => b - a);
  let peak = 0;
  for (let i = 0; i < Math.ceil(PEAK_FREQUENCY_FRACTION * power.length); i++) peak += power[i];
  return peak / total;
}
