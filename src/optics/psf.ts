import type { ObjectiveConfig } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { complexFft2d, nextPow2 } from "./fft2d.js";

/**
 * Scalar defocus PSF of an aberration-free objective: circular pupil of radius NA/λ in
 * spatial frequency, defocus phase exp(i·2π·z·(√((n/λ)² − ρ²) − n/λ)), PSF = |IFT(pupil)|².
 */

/** Largest PSF grid (samples per side); beyond it a far-defocused PSF would wrap. */
export const MAX_PSF_SIZE = 1024;

/** tan of the collection half-angle, tan(asin(NA/n)): geometric blur radius = |zUm| × this. */
export function coneTan(objective: ObjectiveConfig): number {
  const s = objective.na / objective.immersionIndex;
  return s / Math.sqrt(1 - s * s);
}

/**
 * Radius (µm) outside which a defocused PSF holds negligible energy: the geometric blur
 * radius plus a few Airy radii for diffraction rings. Sizes PSF grids and frame margins.
 */
export function psfSupportRadiusUm(objective: ObjectiveConfig, zUm: number): number {
  return 1.05 * Math.abs(zUm) * coneTan(objective) + (4 * objective.wavelengthUm) / objective.na;
}

/** Default PSF sample spacing (µm): 10 % finer than Nyquist for the intensity PSF, λ/(4·NA). */
export function psfSampleUm(objective: ObjectiveConfig): number {
  return objective.wavelengthUm / (4.4 * objective.na);
}

/** A sampled intensity PSF. */
export interface SampledPsf {
  /** Samples per side (power of two). */
  size: number;
  /** Sample spacing (µm, sample plane). */
  sampleUm: number;
  /** `size × size` intensities summing to 1, origin at index 0 (wrapped, FFT layout). */
  data: Float64Array;
}

/**
 * Intensity PSF at physical defocus `zUm` (sample space), sampled every `sampleUm`. The grid
 * spans twice the support radius, which also keeps the defocus phase step between pupil
 * samples below π (the grid-size condition for an unaliased defocus phase). `apodisation` a > 0
 * weights the pupil amplitude by exp(−a·ρ²) (ρ = radius / NA-cutoff): the soft-rimmed pupils
 * of the DeepFocus training optics; the simulator uses 0, a uniform pupil.
 */
export function defocusPsf(objective: ObjectiveConfig, zUm: number, sampleUm = psfSampleUm(objective), apodisation = 0): SampledPsf {
  const { na, immersionIndex: n, wavelengthUm: lambda } = objective;
  if (na >= n) throw new ConfigError(`objective.na (${na}) must be below objective.immersionIndex (${n})`, [{ path: "objective.na", message: "NA must be below the immersion index" }]);
  const size = Math.min(MAX_PSF_SIZE, nextPow2(Math.max(32, Math.ceil((2 * psfSupportRadiusUm(objective, zUm)) / sampleUm))));
  const df = 1 / (size * sampleUm);
  const field = new Float64Array(2 * size * size);
  const cutoff = na / lambda;
  const kz0 = n / lambda;
  for (let iy = 0; iy < size; iy++) {
    const fy = (iy < size / 2 ? iy : iy - size) * df;
    for (let ix = 0; ix < size; ix++) {
      const rho = Math.hypot((ix < size / 2 ? ix : ix - size) * df, fy);
      const edge = Math.min(1, Math.max(0, (cutoff - rho) / df + 0.5));
      if (edge === 0) continue;
      const phase = 2 * Math.PI * zUm * (Math.sqrt(kz0 * kz0 - rho * rho) - kz0);
      const i = 2 * (iy * size + ix);
      const amp = apodisation > 0 ? edge * Math.exp(-apodisation * (rho / cutoff) ** 2) : edge;
      field[i] = amp * Math.cos(phase);
      field[i + 1] = amp * Math.sin(phase);
    }
  }
  complexFft2d(field, size, true);
  const data = new Float64Array(size * size);
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] = field[2 * i] ** 2 + field[2 * i + 1] ** 2;
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { size, sampleUm, data };
}
