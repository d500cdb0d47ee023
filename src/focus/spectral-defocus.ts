import type { ObjectiveConfig } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import { nextPow2, RealFft2d } from "../optics/fft2d.js";
import { radialOtf, type RadialOtf } from "../optics/otf.js";
import { coneTan, defocusPsf } from "../optics/psf.js";
import { DEEPFOCUS_WINDOW, windowRegion } from "../inference/windows.js";
import { clipRect, roiTiles } from "./tiles.js";
import type { FocusScorer, FrameScore, Rect, Roi } from "./types.js";

/**
 * Blind defocus identification from one image's power spectrum, with the optics known
 * ("spectral"): a physics baseline for the DeepFocus CNN that needs no training.
 *
 * An incoherent image is the object convolved with the defocus PSF plus noise, so its power
 * spectrum is P(f) = S(f)·|OTF_z(f)|²·MTF_pixel(f)² + N. Natural in-focus objects have
 * power-law spectra S(f) = A·f^−α (α 0…3 here), the noise is white (N is read where the
 * optics pass nothing, above the incoherent cutoff 2·NA/λ), and a defocused pupil's OTF has
 * zero rings whose spacing (≈ 0.5/R cycles per pixel for a blur disc of radius R px) depends
 * on |z| alone. The estimate is the |z| on a grid whose OTF (the configured objective's scalar
 * pupil, psf.ts, uniform or apodised) best explains the ring-averaged log spectrum of the
 * Hann-windowed region, A and α fitted per candidate (least squares in log power, each ring
 * weighted by its number of coefficients).
 *
 * What limits it: the power-law prior (a smooth object with few edges, e.g. a single cell,
 * has no power at the frequencies where the rings would show, and reads too close to focus),
 * the region size (the rings must be resolved: reliable to about R ≈ region/8 px), and the
 * PSF model (aberrations or partially coherent illumination move the zeros; the pupils tried
 * are uniform or Gaussian-apodised, see TRAINING_APODISATIONS). The sign of z is not observable.
 */

/** Pixel values of any type, row-major. */
export type GrayImage = Pick<Frame, "width" | "height"> & { data: ArrayLike<number> };

/** Score of one region: the estimated defocus |z| (µm), NaN when the region holds no signal above noise. */
export interface SpectralEstimate {
  defocusUm: number;
  /** The best-fitting model's index in SpectralDefocusModel's grid (for `transfer`); NaN with no signal. */
  model: number;
  /** Fitted object spectrum: power A·f^−α (f in cycles/px) with ln A = `logGain` and α = `slope`. */
  slope: number;
  logGain: number;
  /** White noise power read above the cutoff (same units as A). */
  noisePower: number;
  /** Rings whose mean power is ≥ 2× the noise floor and SIGNAL_SDS of its sampling SD above it (the signal the fit could use). */
  signalRings: number;
}

export interface SpectralDefocusOptions {
  objective: ObjectiveConfig;
  /** Pixel size in the sample plane (µm): camera pixel / magnification. */
  samplePixelUm: number;
  /** Largest |z| tried (µm). Default: a blur radius of 100 px. */
  maxDefocusUm?: number;
  /** Pupil apodisations tried (see TRAINING_APODISATIONS, the default). */
  apodisations?: readonly number[];
}

/**
 * Pupil amplitude apodisations a (amplitude exp(−a·ρ²) over the normalised pupil radius ρ)
 * tried: a uniform pupil, whose far-defocus PSF is a hard-rimmed disc, and the Gaussian
 * apodisations of the DeepFocus training optics (scripts/deepfocus/synth.py draws a in 0…1.5),
 * whose discs have soft rims and shallower zero rings. With them a smooth, Gaussian-like defocus
 * blur reads about its |z| (with the uniform pupil alone, about 0.6 |z|).
 */
export const TRAINING_APODISATIONS = [0, 0.75, 1.5] as const;
/** Candidate object-spectrum slopes α (power ∝ f^−α): every other one in the coarse |z| pass, all in the fine one. */
const SLOPES = Array.from({ length: 13 }, (_, i) => 0.25 * i);
const COARSE_SLOPES = SLOPES.filter((_, i) => i % 2 === 0);
/** The coarse pass tries every COARSE_STEP-th |z| (½ px of blur radius apart): 1.5 px apart. */
const COARSE_STEP = 3;
/** Gauss–Newton steps for log A per candidate (converges in 3–4 from the initial guess). */
const GAIN_STEPS = 4;
/** Mean of ln of a χ²₂/2 variable: the bias of a log periodogram ordinate (−Euler's γ). */
const LOG_PERIODOGRAM_BIAS = -0.5772156649;
/** SD of ln of one periodogram ordinate (π/√6), and how many SDs of a ring's mean make it signal rather than noise. */
const LOG_PERIODOGRAM_SD = Math.PI / Math.sqrt(6);
const SIGNAL_SDS = 4;
/** Rings below this many resolution steps hold illumination gradients, not the object: skipped. */
const FIRST_RING = 2;
/** Fit up to this fraction of the incoherent cutoff; noise from this multiple of it on. */
const FIT_TO_CUTOFF = 0.95;
const NOISE_FROM_CUTOFF = 1.08;
/** The noise band must start below this (cycles/px) to hold enough coefficients (the frequency plane's corner reaches 0.707). */
const MAX_NOISE_BAND_START = 0.64;
/** Frame-score region: the ROI tiles' centres widened by this margin (px) — the context DeepFocus's windows see. */
const CONTEXT_MARGIN_PX = DEEPFOCUS_WINDOW / 2;
/** The smallest region side (px) worth an estimate: below it too few rings are resolved. */
export const MIN_REGION_PX = 64;

/** Ring-averaged log power spectrum of a region. */
interface RingSpectrum {
  /** Ring centre frequency (cycles per pixel), ring mean of ln P, and coefficient count. */
  f: Float64Array;
  logP: Float64Array;
  count: Float64Array;
}

/**
 * The defocus model of one objective and pixel: radial pupil OTFs on a |z| grid (step ½ px of
 * geometric blur radius) for each pupil apodisation, built by the constructor.
 */
export class SpectralDefocusModel {
  readonly zUm: Float64Array;
  /** Per pupil apodisation (options.apodisations), one OTF per |z|: model i = apodisation ⌊i / zUm.length⌋, |z| = zUm[i mod zUm.length]. */
  private readonly otfs: RadialOtf[];
  /** Incoherent cutoff in cycles per pixel. */
  readonly cutoffPerPx: number;

  /** @throws ConfigError when the optics leave no band above the cutoff to read the noise from (undersampled). */
  constructor(readonly options: SpectralDefocusOptions) {
    const { objective, samplePixelUm } = options;
    this.cutoffPerPx = ((2 * objective.na) / objective.wavelengthUm) * samplePixelUm;
    if (NOISE_FROM_CUTOFF * this.cutoffPerPx > MAX_NOISE_BAND_START)
      throw new ConfigError(
        `spectral defocus needs frequencies above the optical cutoff to read the noise from, but ${samplePixelUm.toFixed(3)}-µm pixels at NA ${objective.na} put the cutoff at ${this.cutoffPerPx.toFixed(2)} cycles/px: the optics are sampled too coarsely (pixels must be below ${((MAX_NOISE_BAND_START / NOISE_FROM_CUTOFF) * objective.wavelengthUm / (2 * objective.na)).toFixed(3)} µm)`,
        [{ path: "camera.pixelSizeUm", message: "too coarse for the spectral defocus estimate" }],
      );
    const umPerBlurPx = samplePixelUm / coneTan(objective);
    const maxUm = options.maxDefocusUm ?? 100 * umPerBlurPx;
    const step = 0.5 * umPerBlurPx;
    const n = Math.floor(maxUm / step) + 1;
    this.zUm = Float64Array.from({ length: n }, (_, i) => i * step);
    this.otfs = (options.apodisations ?? TRAINING_APODISATIONS).flatMap((a) => Array.from(this.zUm, (z) => radialOtf(defocusPsf(objective, z, undefined, a))));
  }

  /** The in-focus model with model `i`'s apodisation. */
  inFocusIndex(i: number): number {
    return i - (i % this.zUm.length);
  }

  /** OTF_z(f)·sinc(f) (pupil and pixel aperture; signed) of grid model `i`, f in cycles per pixel (0 beyond the table). */
  transfer(i: number, fPerPx: number): number {
    const { values, stepPerUm } = this.otfs[i];
    const x = fPerPx / this.options.samplePixelUm / stepPerUm;
    const j = Math.floor(x);
    if (j + 1 >= values.length) return 0;
    const otf = values[j] + (values[j + 1] - values[j]) * (x - j);
    return fPerPx === 0 ? otf : (otf * Math.sin(Math.PI * fPerPx)) / (Math.PI * fPerPx);
  }

  transfer2(i: number, fPerPx: number): number {
    return this.transfer(i, fPerPx) ** 2;
  }

  /**
   * Estimated |z| of the `rect` of `frame`.
   * @throws RangeError when the region is too small to hold frequencies above the cutoff to read the noise from.
   */
  estimate(frame: GrayImage, rect: Rect): SpectralEstimate {
    const rings = ringSpectrum(frame, rect);
    const { f, logP, count } = rings;
    let noiseSum = 0, noiseW = 0;
    for (let j = 0; j < f.length; j++)
      if (count[j] > 0 && f[j] >= NOISE_FROM_CUTOFF * this.cutoffPerPx) {
        noiseSum += count[j] * logP[j];
        noiseW += count[j];
      }
    if (noiseW < 8)
      throw new RangeError(`spectral defocus: a ${rect.width}×${rect.height} region holds too few frequencies above the optical cutoff (${this.cutoffPerPx.toFixed(2)} cycles/px) to read the noise from`);
    const noise = Math.exp(noiseSum / noiseW);
    const use: number[] = [];
    let signalRings = 0;
    for (let j = FIRST_RING; j < f.length; j++)
      if (count[j] > 0 && f[j] <= FIT_TO_CUTOFF * this.cutoffPerPx) {
        use.push(j);
        if (logP[j] - Math.log(noise) >= Math.max(Math.LN2, SIGNAL_SDS * LOG_PERIODOGRAM_SD / Math.sqrt(count[j]))) signalRings++;
      }
    if (signalRings < 3) return { defocusUm: Number.NaN, model: Number.NaN, slope: Number.NaN, logGain: Number.NaN, noisePower: noise, signalRings };
    const fj = use.map((j) => f[j]), mj = use.map((j) => logP[j]), nj = use.map((j) => count[j]);
    const logF = fj.map(Math.log);

    const fitAt = (zi: number, slopes: readonly number[]): { err: number; slope: number; logGain: number } => {
      const logG = fj.map((fr) => Math.log(Math.max(this.transfer2(zi, fr), 1e-30)));
      let best = { err: Infinity, slope: 0, logGain: 0 };
      for (const alpha of slopes) {
        const lg = logG.map((g, k) => g - alpha * logF[k]);
        // Initial log A from the rings well above the noise.
        let a = 0, w = 0;
        for (let k = 0; k < lg.length; k++) {
          const excess = Math.exp(mj[k]) - noise;
          if (excess > noise) {
            a += nj[k] * (Math.log(excess) - lg[k]);
            w += nj[k];
          }
        }
        a = w > 0 ? a / w : 0;
        let err = Infinity, fitted = a;
        for (let step = 0; step <= GAIN_STEPS; step++) {
          fitted = a;
          let num = 0, den = 0;
          err = 0;
          for (let k = 0; k < lg.length; k++) {
            const u = Math.exp(Math.min(a + lg[k], 700));
            const model = u + noise;
            const r = mj[k] - Math.log(model);
            const d = u / model;
            err += nj[k] * r * r;
            num += nj[k] * d * r;
            den += nj[k] * d * d;
          }
          if (step < GAIN_STEPS) a += num / (den + 1e-12);
        }
        if (err < best.err) best = { err, slope: alpha, logGain: fitted };
      }
      return best;
    };

    // Coarse pass on every other |z| of each pupil, then every |z| of the best pupil around the best one, then a parabola through its neighbours.
    const models = this.otfs.length, nz = this.zUm.length;
    const errs = new Float64Array(models).fill(Number.NaN);
    const slopes = new Float64Array(models);
    const gains = new Float64Array(models);
    const evalAt = (i: number): number => {
      if (Number.isNaN(errs[i])) {
        const r = fitAt(i, SLOPES);
        errs[i] = r.err;
        slopes[i] = r.slope;
        gains[i] = r.logGain;
      }
      return errs[i];
    };
    let bestI = 0, coarseBest = Infinity;
    for (let i = 0; i < models; i += COARSE_STEP) {
      const e = fitAt(i, COARSE_SLOPES).err;
      if (e < coarseBest) [bestI, coarseBest] = [i, e];
    }
    const block = bestI - (bestI % nz);
    for (let i = Math.max(block, bestI - COARSE_STEP - 1); i <= Math.min(block + nz - 1, bestI + COARSE_STEP + 1); i++) if (evalAt(i) < evalAt(bestI)) bestI = i;
    let defocusUm = this.zUm[bestI - block];
    if (bestI > block && bestI < block + nz - 1) {
      const [e0, e1, e2] = [evalAt(bestI - 1), errs[bestI], evalAt(bestI + 1)];
      const curv = e0 - 2 * e1 + e2;
      if (curv > 0) defocusUm += (0.5 * (e0 - e2) / curv) * (this.zUm[1] - this.zUm[0]);
    }
    return { defocusUm, model: bestI, slope: slopes[bestI], logGain: gains[bestI], noisePower: noise, signalRings };
  }
}

/** Ring-averaged ln P of the mean-removed, Hann-windowed region (rings 1/min(w, h) cycles/px wide). */
function ringSpectrum(frame: GrayImage, rect: Rect): RingSpectrum {
  const { x: x0, y: y0, width: w, height: h } = rect;
  const W = Math.max(2, nextPow2(w)), H = Math.max(2, nextPow2(h));
  let mean = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mean += frame.data[(y0 + y) * frame.width + x0 + x];
  mean /= w * h;
  const hann = (n: number) => Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
  const hx = hann(w), hy = hann(h);
  const img = new Float64Array(W * H);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * W + x] = (frame.data[(y0 + y) * frame.width + x0 + x] - mean) * hx[x] * hy[y];
  const fft = new RealFft2d(W, H);
  const spec = fft.forward(img);
  const df = 1 / Math.min(w, h);
  const nRings = Math.ceil(Math.SQRT1_2 / df) + 1;
  const logP = new Float64Array(nRings), count = new Float64Array(nRings);
  const hw = fft.halfWidth;
  for (let ky = 0; ky < H; ky++) {
    const fy = (ky <= H / 2 ? ky : ky - H) / H;
    for (let kx = 0; kx < hw; kx++) {
      const fx = kx / W;
      const j = Math.round(Math.hypot(fx, fy) / df);
      const re = spec[2 * (ky * hw + kx)], im = spec[2 * (ky * hw + kx) + 1];
      logP[j] += Math.log(re * re + im * im + 1e-30);
      count[j]++;
    }
  }
  const f = new Float64Array(nRings);
  for (let j = 0; j < nRings; j++) {
    f[j] = j * df;
    if (count[j] > 0) logP[j] = logP[j] / count[j] - LOG_PERIODOGRAM_BIAS;
  }
  return { f, logP, count };
}

/**
 * "spectral" as a FocusScorer: the frame score is the estimate on the region the ROI tiles'
 * centres span widened by CONTEXT_MARGIN_PX (clamped to the frame), each tile's score the
 * estimate on its DeepFocus window (windowRegion) inside the frame (fewer rings resolved: less range).
 * Scores are |z| in µm, lower is sharper; a tile or frame with no signal above the noise is
 * NaN and invalid.
 */
export class SpectralDefocusScorer implements FocusScorer {
  readonly id = "spectral" as const;
  readonly higherIsSharper = false;
  constructor(readonly model: SpectralDefocusModel) {}

  async score(frame: Frame, roi: Roi): Promise<FrameScore> {
    const tiles = roiTiles(frame.width, frame.height, roi);
    const centres = tiles.map((t) => ({ x: t.x + t.width / 2, y: t.y + t.height / 2 }));
    const span = (lo: number, hi: number, extent: number): [number, number] => [Math.max(0, Math.floor(lo)), Math.min(extent, Math.ceil(hi))];
    const [x0, x1] = span(Math.min(...centres.map((c) => c.x)) - CONTEXT_MARGIN_PX, Math.max(...centres.map((c) => c.x)) + CONTEXT_MARGIN_PX, frame.width);
    const [y0, y1] = span(Math.min(...centres.map((c) => c.y)) - CONTEXT_MARGIN_PX, Math.max(...centres.map((c) => c.y)) + CONTEXT_MARGIN_PX, frame.height);
    const whole = this.model.estimate(frame, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    const tileScores = tiles.map((t) => this.model.estimate(frame, clipRect(windowRegion(frame, t, DEEPFOCUS_WINDOW), frame.width, frame.height)).defocusUm);
    return { score: whole.defocusUm, tiles: tileScores, valid: tileScores.map(Number.isFinite) };
  }
}
