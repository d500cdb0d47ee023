import type { ObjectiveConfig } from "../config/schema.js";
import FFT from "fft.js";
import type { SampledPsf } from "./psf.js";

/**
 * Optical transfer functions. The PSF of an aberration-free pupil is radially symmetric, so
 * its OTF is a real radial profile: the 1-D Fourier transform of the line-spread function.
 */

/** OTF(ρ) sampled every `stepPerUm` cycles/µm from ρ = 0, with OTF(0) = 1. */
export interface RadialOtf {
  stepPerUm: number;
  values: Float64Array;
}

/** Radial OTF of a Nyquist-sampled PSF, zero-padded 4× for smooth interpolation. */
export function radialOtf(psf: SampledPsf): RadialOtf {
  const { size, data } = psf;
  const length = 4 * size;
  const lsf = new Float64Array(2 * length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = x < size / 2 ? x : length - (size - x);
      lsf[2 * i] += data[y * size + x];
    }
  const out = new Float64Array(2 * length);
  new FFT(length).transform(out, lsf);
  const values = new Float64Array(length / 2 + 1);
  for (let j = 0; j < values.length; j++) values[j] = out[2 * j];
  return { stepPerUm: 1 / (length * psf.sampleUm), values };
}

/**
 * OTF of sampled, pixel-integrated imaging on a `gridW × gridH` DFT grid of pixel `pixelUm`,
 * as the half-spectrum real array (`gridH` rows × gridW/2+1). Each frequency gets the
 * continuous OTF times the pixel-aperture MTF sinc(fx·dx)·sinc(fy·dx), summed over the
 * aliases f + m/dx that lie inside the incoherent cutoff 2·NA/λ (the camera's undersampling).
 */
export function pixelGridOtf(otf: RadialOtf, objective: ObjectiveConfig, pixelUm: number, gridW: number, gridH: number): Float32Array {
  const hw = gridW / 2 + 1;
  const cutoff = (2 * objective.na) / objective.wavelengthUm;
  const m = Math.ceil(cutoff * pixelUm - 0.5);
  const out = new Float32Array(gridH * hw);
  const { values, stepPerUm } = otf;
  const axis = (count: number, period: number, signed: boolean) =>
    Array.from({ length: 2 * m + 1 }, (_, a) => {
      const nu = new Float64Array(count);
      const mtf = new Float64Array(count);
      for (let k = 0; k < count; k++) {
        nu[k] = (signed && k >= period / 2 ? k - period : k) / period + a - m;
        mtf[k] = sinc(nu[k]);
      }
      return { nu, mtf };
    });
  const xs = axis(hw, gridW, false);
  const ys = axis(gridH, gridH, true);
  const limit = (cutoff * pixelUm) ** 2;
  for (const y of ys)
    for (let ky = 0; ky < gridH; ky++) {
      const vy = y.nu[ky], my = y.mtf[ky];
      const vy2 = vy * vy;
      if (vy2 >= limit) continue;
      const row = ky * hw;
      for (const { nu, mtf } of xs)
        for (let kx = 0; kx < hw; kx++) {
          const r2 = nu[kx] * nu[kx] + vy2;
          if (!(r2 < limit)) {
            if (nu[kx] > 0) break; // ν grows with kx: the rest of the row lies outside the cutoff too
            continue;
          }
          // The continuous OTF at ρ = √r2 / pixelUm, linearly interpolated in the radial profile.
          const u = Math.sqrt(r2) / pixelUm / stepPerUm;
          const j = Math.floor(u);
          const v = j + 1 >= values.length ? 0 : values[j] + (u - j) * (values[j + 1] - values[j]);
          out[row + kx] += v * mtf[kx] * my;
        }
    }
  return out;
}

function sinc(x: number): number {
  return x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
}
