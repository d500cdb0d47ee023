import type { ObjectiveConfig } from "../config/schema.js";
import { nextPow2, RealFft2d } from "./fft2d.js";
import { pixelGridOtf, radialOtf } from "./otf.js";
import { coneTan, defocusPsf, MAX_PSF_SIZE, psfSampleUm, psfSupportRadiusUm, type SampledPsf } from "./psf.js";
import type { Slide } from "./slides.js";

/**
 * Defocus PSF models *other than* the simulator's scalar-pupil one (psf.ts), for benchmarks
 * on optics a model was not trained on, and a small image-formation path that takes any of
 * them (ImageFormation is bound to psf.ts's `defocusPsf`).
 *
 * - `gaussian`: a 2-D Gaussian whose width follows the geometric cone plus a diffraction
 *   floor, σ(z)² = σ₀² + (|z|·tan θ / 2)², with σ₀ = 0.21·λ/NA (the least-squares Gaussian
 *   fit to the in-focus Airy pattern, Zhang, Zerubia & Olivo-Marin, Appl. Opt. 46, 2007) and
 *   |z|·tan θ / 2 the per-axis RMS width of the geometric blur disc of radius |z|·tan θ
 *   (θ = asin(NA/n)). No rings, no sharp disc edge, Gaussian tails.
 * - `born-wolf`: the paraxial scalar defocus PSF of a uniformly lit circular aperture (Born &
 *   Wolf, Principles of Optics §8.8), I(u, v) ∝ |2∫₀¹ J₀(vρ)·exp(−i·u·ρ²/2)·ρ dρ|², with
 *   v = 2π·NA·r/λ and u = 2π·NA²·z/(n·λ), integrated numerically (composite Simpson, ≥ 20
 *   nodes per oscillation). Paraxial: its geometric shadow has radius |z|·NA/n (≈ 5 % smaller
 *   than the exact cone at NA 0.3) and it lacks the higher-order (spherical-like) defocus
 *   terms of the exact pupil phase used in training, so it is a genuinely different model.
 * - `pupil`: psf.ts's exact scalar-pupil PSF (the family the CNN was trained on), as a control.
 *
 * All return psf.ts's `SampledPsf` (wrapped FFT layout, unit sum, sampled every λ/(4.4·NA)),
 * so `radialOtf` and `pixelGridOtf` from otf.ts turn them into frame OTFs unchanged.
 */

export const PSF_MODEL_IDS = ["gaussian", "born-wolf", "pupil"] as const;
export type PsfModelId = (typeof PSF_MODEL_IDS)[number];

export interface PsfModel {
  readonly id: PsfModelId;
  /** Radius (µm) outside which the PSF at defocus `zUm` holds negligible energy (< ~1e-3). */
  supportRadiusUm(objective: ObjectiveConfig, zUm: number): number;
  /** Sampled intensity PSF (unit sum, origin at index 0). */
  psf(objective: ObjectiveConfig, zUm: number, sampleUm?: number): SampledPsf;
}

/** Diffraction floor of the Gaussian model: σ₀ = 0.21·λ/NA. */
export function gaussianSigma0Um(objective: ObjectiveConfig): number {
  return (0.21 * objective.wavelengthUm) / objective.na;
}

/** σ (µm, per axis) of the Gaussian defocus PSF: √(σ₀² + (|z|·tan θ / 2)²). */
export function gaussianSigmaUm(objective: ObjectiveConfig, zUm: number): number {
  const geo = (Math.abs(zUm) * coneTan(objective)) / 2;
  return Math.hypot(gaussianSigma0Um(objective), geo);
}

/** Samples per side for a PSF of support radius `radiusUm` (psf.ts's rule). */
function gridSize(radiusUm: number, sampleUm: number): number {
  return Math.min(MAX_PSF_SIZE, nextPow2(Math.max(32, Math.ceil((2 * radiusUm) / sampleUm))));
}

/** Fills a wrapped `size × size` grid with a radial profile `f(r)` and normalises it to unit sum. */
function radialGrid(size: number, sampleUm: number, f: (rUm: number) => number): SampledPsf {
  const data = new Float64Array(size * size);
  let sum = 0;
  for (let iy = 0; iy < size; iy++) {
    const dy = (iy < size / 2 ? iy : iy - size) * sampleUm;
    for (let ix = 0; ix < size; ix++) {
      const dx = (ix < size / 2 ? ix : ix - size) * sampleUm;
      sum += data[iy * size + ix] = f(Math.hypot(dx, dy));
    }
  }
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { size, sampleUm, data };
}

export const gaussianPsfModel: PsfModel = {
  id: "gaussian",
  supportRadiusUm: (o, z) => Math.max(4 * gaussianSigmaUm(o, z), (4 * o.wavelengthUm) / o.na),
  psf(o, z, sampleUm = psfSampleUm(o)) {
    const s2 = 2 * gaussianSigmaUm(o, z) ** 2;
    return radialGrid(gridSize(this.supportRadiusUm(o, z), sampleUm), sampleUm, (r) => Math.exp(-(r * r) / s2));
  },
};

/** Bessel J₀ (Numerical Recipes rational / asymptotic approximations, |error| < 1e-8). */
export function besselJ0(x: number): number {
  const ax = Math.abs(x);
  if (ax < 8) {
    const y = x * x;
    const a = 57568490574.0 + y * (-13362590354.0 + y * (651619640.7 + y * (-11214424.18 + y * (77392.33017 + y * -184.9052456))));
    const b = 57568490411.0 + y * (1029532985.0 + y * (9494680.718 + y * (59272.64853 + y * (267.8532712 + y))));
    return a / b;
  }
  const z = 8 / ax;
  const y = z * z;
  const xx = ax - 0.785398164;
  const p = 1 + y * (-0.1098628627e-2 + y * (0.2734510407e-4 + y * (-0.2073370639e-5 + y * 0.2093887211e-6)));
  const q = -0.1562499995e-1 + y * (0.1430488765e-3 + y * (-0.6911147651e-5 + y * (0.7621095161e-6 - y * 0.934935152e-7)));
  return Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * p - z * Math.sin(xx) * q);
}

/** Bessel J₁ (Numerical Recipes rational / asymptotic approximations, |error| < 1e-8). */
export function besselJ1(x: number): number {
  const ax = Math.abs(x);
  if (ax < 8) {
    const y = x * x;
    const a = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (-2972611.439 + y * (15704.4826 + y * -30.16036606)))));
    const b = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (99447.43394 + y * (376.9991397 + y))));
    return a / b;
  }
  const z = 8 / ax;
  const y = z * z;
  const xx = ax - 2.356194491;
  const p = 1 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * -0.240337019e-6)));
  const q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (-0.88228987e-6 + y * 0.105787412e-6)));
  return Math.sign(x) * Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * p - z * Math.sin(xx) * q);
}

/**
 * Born–Wolf defocus intensity I(u, v) = |2∫₀¹ J₀(vρ)·e^(−iuρ²/2)·ρ dρ|² (1 at u = v = 0) at
 * each optical radius in `vs`, by composite Simpson over ρ with at least 20 nodes per
 * oscillation of the integrand.
 */
export function bornWolfIntensity(u: number, vs: ArrayLike<number>): Float64Array {
  let vMax = 0;
  for (let k = 0; k < vs.length; k++) vMax = Math.max(vMax, Math.abs(vs[k]));
  const n = 2 * Math.ceil((64 + (20 * (Math.abs(u) / 2 + vMax)) / (2 * Math.PI)) / 2);
  const h = 1 / n;
  const rho = new Float64Array(n + 1);
  const wr = new Float64Array(n + 1);
  const wi = new Float64Array(n + 1);
  for (let j = 0; j <= n; j++) {
    const p = j * h;
    const simpson = j === 0 || j === n ? 1 : j % 2 ? 4 : 2;
    const w = ((2 * simpson * h) / 3) * p;
    const phase = (-u * p * p) / 2;
    rho[j] = p;
    wr[j] = w * Math.cos(phase);
    wi[j] = w * Math.sin(phase);
  }
  const out = new Float64Array(vs.length);
  for (let k = 0; k < vs.length; k++) {
    const v = vs[k];
    let re = 0, im = 0;
    for (let j = 1; j <= n; j++) {
      const b = besselJ0(v * rho[j]);
      re += b * wr[j];
      im += b * wi[j];
    }
    out[k] = re * re + im * im;
  }
  return out;
}

/** Born–Wolf optical coordinates: v per µm of radius, u per µm of defocus. */
export function bornWolfCoordinates(o: ObjectiveConfig): { vPerUm: number; uPerUm: number } {
  return { vPerUm: (2 * Math.PI * o.na) / o.wavelengthUm, uPerUm: (2 * Math.PI * o.na * o.na) / (o.immersionIndex * o.wavelengthUm) };
}

/** Radial Born–Wolf profile I(r) (1 at the in-focus peak) at radii `rUm`. */
export function bornWolfRadialUm(o: ObjectiveConfig, zUm: number, rUm: ArrayLike<number>): Float64Array {
  const { vPerUm, uPerUm } = bornWolfCoordinates(o);
  return bornWolfIntensity(uPerUm * zUm, Array.from(rUm, (r) => r * vPerUm));
}

export const bornWolfPsfModel: PsfModel = {
  id: "born-wolf",
  supportRadiusUm: (o, z) => psfSupportRadiusUm(o, z),
  psf(o, z, sampleUm = psfSampleUm(o)) {
    const size = gridSize(this.supportRadiusUm(o, z), sampleUm);
    // Radial table every sampleUm/8 out to the grid corner, then linear interpolation.
    const dr = sampleUm / 8;
    const count = Math.ceil((Math.SQRT2 * (size / 2) * sampleUm) / dr) + 2;
    const table = bornWolfRadialUm(o, z, Array.from({ length: count }, (_, k) => k * dr));
    return radialGrid(size, sampleUm, (r) => {
      const t = r / dr;
      const k = Math.min(count - 2, Math.floor(t));
      return table[k] + (t - k) * (table[k + 1] - table[k]);
    });
  },
};

export const pupilPsfModel: PsfModel = {
  id: "pupil",
  supportRadiusUm: (o, z) => psfSupportRadiusUm(o, z),
  psf: (o, z, sampleUm) => defocusPsf(o, z, sampleUm),
};

export const PSF_MODELS: Readonly<Record<PsfModelId, PsfModel>> = {
  gaussian: gaussianPsfModel,
  "born-wolf": bornWolfPsfModel,
  pupil: pupilPsfModel,
};

export interface PsfImagingOptions {
  objective: ObjectiveConfig;
  /** Camera pixel pitch on the sensor (µm); the sample-plane pixel is this / magnification. */
  cameraPixelUm: number;
  width: number;
  height: number;
  /** Largest |defocus| (µm) that will be imaged: sizes the margin against wrap-around. */
  maxDefocusUm: number;
  /** PSF models whose support sizes the margin (default all). */
  models?: readonly PsfModel[];
}

/** Largest FFT grid side (as ImageFormation). */
const MAX_GRID = 2048;

/**
 * Incoherent image formation with any `PsfModel`, on one fixed FFT grid for a whole z-stack:
 * image = IFT(FT(object) · OTF(z)), OTF = pixel-integrated, aliased OTF of the sampled PSF
 * (otf.ts, the same path as ImageFormation). The grid exceeds the frame by the largest PSF
 * support on each side, so nothing wraps into the frame. Callers cache object spectra and
 * OTFs (both are plain arrays) as they see fit.
 */
export class PsfImaging {
  readonly gridW: number;
  readonly gridH: number;
  readonly pixelUm: number;
  private readonly fft: RealFft2d;
  /** Reused buffers of `intensity` (spectrum product, grid image). */
  private scratch: Float64Array | undefined;
  private scratchImage: Float64Array | undefined;

  constructor(readonly opts: PsfImagingOptions) {
    this.pixelUm = opts.cameraPixelUm / opts.objective.magnification;
    const models = opts.models ?? Object.values(PSF_MODELS);
    const supportUm = Math.max(...models.map((m) => m.supportRadiusUm(opts.objective, opts.maxDefocusUm)));
    const marginPx = 2 * Math.ceil(supportUm / this.pixelUm);
    this.gridW = Math.min(MAX_GRID, nextPow2(opts.width + marginPx));
    this.gridH = Math.min(MAX_GRID, nextPow2(opts.height + marginPx));
    this.fft = new RealFft2d(this.gridW, this.gridH);
  }

  /** Half spectrum of the slide on the grid, the frame centred on (fieldXUm, fieldYUm). */
  objectSpectrum(slide: Slide, fieldXUm = 0, fieldYUm = 0): Float64Array {
    const { gridW, gridH, pixelUm } = this;
    const { width, height } = this.opts;
    const object = new Float32Array(gridW * gridH);
    const x0Um = fieldXUm - (Math.floor((gridW - width) / 2) + (width - 1) / 2) * pixelUm;
    const y0Um = fieldYUm - (Math.floor((gridH - height) / 2) + (height - 1) / 2) * pixelUm;
    slide.render(object, { x0Um, y0Um, dxUm: pixelUm, width: gridW, height: gridH });
    return this.fft.forward(object);
  }

  /** Frame OTF (half-spectrum layout, real) of `model` at defocus `zUm`. */
  otf(model: PsfModel, zUm: number): Float32Array {
    return pixelGridOtf(radialOtf(model.psf(this.opts.objective, zUm)), this.opts.objective, this.pixelUm, this.gridW, this.gridH);
  }

  /** Noise-free frame intensity (`width × height`, object units, clipped at 0). */
  intensity(spectrum: Float64Array, otf: Float32Array): Float32Array {
    const { gridW, gridH } = this;
    const { width, height } = this.opts;
    const ox = Math.floor((gridW - width) / 2);
    const oy = Math.floor((gridH - height) / 2);
    const product = (this.scratch ??= new Float64Array(spectrum.length));
    for (let i = 0; i < otf.length; i++) {
      product[2 * i] = spectrum[2 * i] * otf[i];
      product[2 * i + 1] = spectrum[2 * i + 1] * otf[i];
    }
    const image = this.fft.inverse(product, {
      image: (this.scratchImage ??= new Float64Array(gridW * gridH)),
      overwriteInput: true,
      firstRow: oy,
      rowCount: height,
    });
    const out = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      const src = (y + oy) * gridW + ox;
      for (let x = 0; x < width; x++) out[y * width + x] = Math.max(0, image[src + x]);
    }
    return out;
  }

  /** Convenience: one frame of `slide` through `model` at `zUm` (no caching). */
  render(slide: Slide, model: PsfModel, zUm: number): Float32Array {
    return this.intensity(this.objectSpectrum(slide), this.otf(model, zUm));
  }
}
