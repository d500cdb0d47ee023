import { throwIfAborted } from "../errors.js";
import type { ObjectiveConfig } from "../config/schema.js";
import { MIN_REGION_PX, SpectralDefocusModel, type SpectralDefocusOptions, type SpectralEstimate } from "../focus/spectral-defocus.js";
import { clipRect } from "../focus/tiles.js";
import type { Frame } from "../hardware/camera/types.js";
import { extractMirrored } from "../image/mirrored.js";
import { RealFft2d } from "../optics/fft2d.js";
import { coneTan } from "../optics/psf.js";
import { airyRadiusPx, defocusRadiusPx } from "./psf.js";
import { toFrame } from "./normalise.js";
import { TileBlender, tileCount, tileGrid, tileOrigins } from "./tiles.js";
import type { RefocusInfo, Refocuser } from "./types.js";

export interface WienerRefocuserOptions {
  /** The configured objective's defocus model (focus/spectral-defocus.ts), with WIENER_APODISATIONS. */
  model: SpectralDefocusModel;
  /** Tile side (px, a power of two). Default 512: the defocus estimate needs large regions. */
  tileSize?: number;
  /** Minimum overlap of neighbouring tiles = blending ramp length (px). Default 128. */
  overlap?: number;
  /** Mirror context around the image (px). Default 32. */
  pad?: number;
}

/**
 * Pupils of the Wiener filter's defocus model: the uniform one only. The apodised pupils of the
 * spectral scorer read a smooth blur's |z| better, but their shallow zero rings make a filter
 * that amplifies noise: on the refocus bench's seed-1 pairs (2026-12-02) Wiener with all three
 * gained +2.74 / +1.92 dB at 1–2 / 2–3 DOF and lost 6.3 dB in focus, against +2.82 / +1.96 and
 * −1.9 dB with the uniform pupil alone.
 */
export const WIENER_APODISATIONS = [0] as const;

/**
 * The Wiener refocuser of an objective and sample-plane pixel (µm), on its defocus model with
 * WIENER_APODISATIONS (the one way `wiener`, `auto`, the network's Wiener channel and its
 * training data build it).
 * @throws ConfigError when the optics are too coarsely sampled for the spectral estimate.
 */
export function opticsWiener(objective: ObjectiveConfig, samplePixelUm: number, opts: Omit<WienerRefocuserOptions, "model"> = {}): WienerRefocuser {
  return new WienerRefocuser({ ...opts, model: new SpectralDefocusModel({ objective, samplePixelUm, apodisations: WIENER_APODISATIONS }) });
}

/**
 * Near focus the blind |z| confuses the object's own smoothness with defocus: on in-focus
 * frames of the simulator's tissue, nuclei and held-out USAF it reads 0.26–0.51 DOF (cells,
 * beads, pollen: 0), and near focus about √(z² + z_obj²) with that object offset z_obj; from
 * 1 DOF on it is within 5 % of z (scratch check 2026-12-03, 10×/NA 0.3; docs/benchmarks.md).
 * Deconvolving that phantom blur sharpens noise and ringing into an in-focus frame. So the
 * filter uses √(max(0, |z|² − z₀²)), with z₀ = NEAR_FOCUS_OFFSET × the defocus whose geometric blur radius
 * equals the Airy radius (0.61·λ/NA: 0.49 DOF at 10×/NA 0.3) — below that, one image cannot tell
 * defocus from a smooth object. The factor was chosen on the simulator's training-like samples
 * (tissue, nuclei, cells, beads, 2 seeds, 0–2.75 DOF: mean Wiener gain over 0–3 DOF +2.99 /
 * +3.51 / +3.63 / +3.05 dB with 0 / 0.5 / 0.7 / 1) and checked on the refocus bench's held-out
 * pairs (docs/benchmarks.md, "Near-focus offset").
 */
export const NEAR_FOCUS_OFFSET = 0.7;

/**
 * The |z| (µm) the Wiener filter deconvolves for an estimate of `estimateUm` with these optics:
 * the estimate's geometric blur radius less NEAR_FOCUS_OFFSET × the Airy radius in quadrature.
 */
export function filterDefocusUm({ objective, samplePixelUm }: Pick<SpectralDefocusOptions, "objective" | "samplePixelUm">, estimateUm: number): number {
  const blurPxPerUm = coneTan(objective) / samplePixelUm;
  const offsetPx = NEAR_FOCUS_OFFSET * airyRadiusPx(objective.wavelengthUm, objective.na, samplePixelUm);
  return defocusRadiusPx(estimateUm * blurPxPerUm, offsetPx) / blurPxPerUm;
}

/** WienerRefocuser.filtered's result: the blended estimate (frame DN, unrounded), each tile's |z| (µm, NaN where kept as is), the tile count. */
export interface WienerFiltered {
  image: Float32Array;
  defocusUm: number[];
  tiles: number;
}

/** Radial resolution of the filter table (rings from 0 to √2·Nyquist). */
const FILTER_RINGS = 4096;

/**
 * Blind Wiener refocus with the configured optics ("wiener"): per overlapping tile, the
 * spectral defocus estimate (focus/spectral-defocus.ts) gives |z| (less the near-focus offset,
 * filterDefocusUm) and the fitted object and noise spectra S(f) = A·f^−α and N; the tile is
 * filtered towards the in-focus image,
 * W(f) = H₀(f)·H_z(f)·S(f) / (H_z(f)²·S(f) + N) with H the pupil-and-pixel transfer function
 * (signed: beyond a zero ring the defocused OTF's contrast reversal is undone), on the tile
 * mirror-extended to twice its size (no wrap-around edge), and the tiles are blended with
 * raised-cosine weights (tiles.ts). The estimate uses the tile's part inside the frame; a tile
 * with no signal above the noise there, or less than MIN_REGION_PX of frame on a side, is kept as is.
 * It deconvolves where the network (net) only denoises — from about 1 DOF out — but it needs
 * the optics (objective and pixel size) and assumes an aberration-free scalar pupil.
 */
export class WienerRefocuser implements Refocuser {
  readonly method = "wiener" as const;

  constructor(private readonly opts: WienerRefocuserOptions) {
    const size = opts.tileSize ?? 512;
    if ((size & (size - 1)) !== 0 || size < 32) throw new RangeError(`Wiener tile size must be a power of two ≥ 32, got ${size}`);
  }

  /** The defocus model whose estimates pick each tile's filter. */
  get model(): SpectralDefocusModel {
    return this.opts.model;
  }

  async refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }> {
    const t0 = performance.now();
    return this.result(frame, this.filtered(frame, signal), t0);
  }

  /** The refocus result of `filtered(frame)`'s output, rounded and clipped to the frame's bit depth (timed from `t0`, ms). */
  result(frame: Frame, { image, defocusUm, tiles }: WienerFiltered, t0: number): { frame: Frame; info: RefocusInfo } {
    return { frame: toFrame(image, frame), info: { method: "wiener", durationMs: performance.now() - t0, tiles, modelSha256: null, defocusUm } };
  }

  /**
   * The blended Wiener estimate in the frame's DN, unrounded and unclipped (the refocus
   * network's second input channel, net.ts), with each tile's |z| (µm, NaN where kept as is).
   */
  filtered(frame: Frame, signal?: AbortSignal): WienerFiltered {
    const size = this.opts.tileSize ?? 512;
    const grid = tileGrid(frame.width, frame.height, { maxTile: size, overlap: this.opts.overlap ?? 128, pad: this.opts.pad ?? 32, exact: true });
    const blender = new TileBlender(grid);
    const fft = new RealFft2d(2 * size, 2 * size);
    const tile = new Float32Array(size * size);
    const extended = new Float32Array(4 * size * size);
    const defocusUm: number[] = [];
    for (const [x0, y0] of tileOrigins(grid)) {
      throwIfAborted(signal);
      extractMirrored(frame.data, frame.width, frame.height, x0, y0, size, size, tile);
      // Estimated on the tile's part inside the frame (mirrored content is not the sample's spectrum).
      const inside = clipRect({ x: x0, y: y0, width: size, height: size }, frame.width, frame.height);
      const est = Math.min(inside.width, inside.height) >= MIN_REGION_PX ? this.opts.model.estimate(frame, inside) : null;
      defocusUm.push(est?.defocusUm ?? Number.NaN);
      if (!est || !Number.isFinite(est.defocusUm)) {
        blender.add(tile, x0, y0);
        continue;
      }
      extractMirrored(tile, size, size, -size / 2, -size / 2, 2 * size, 2 * size, extended);
      blender.add(this.filter(fft, extended, size, est), x0, y0);
    }
    return { image: blender.result(), defocusUm, tiles: tileCount(grid) };
  }

  /** The Wiener-filtered centre `size`² of a 2·size-square mirror-extended tile (mean kept). */
  private filter(fft: RealFft2d, extended: Float32Array, size: number, est: SpectralEstimate): Float64Array {
    const model = this.opts.model;
    const focused = model.inFocusIndex(est.model);
    const stepUm = model.zUm[1] - model.zUm[0];
    const zi = focused + Math.min(model.zUm.length - 1, Math.round(filterDefocusUm(model.options, est.defocusUm) / stepUm));
    const fMax = Math.SQRT1_2 * (1 + 1e-9);
    const table = new Float64Array(FILTER_RINGS);
    for (let r = 1; r < FILTER_RINGS; r++) {
      const f = (r / FILTER_RINGS) * fMax;
      const h = model.transfer(zi, f);
      const snr = Math.exp(est.logGain - est.slope * Math.log(f)) / est.noisePower;
      table[r] = (model.transfer(focused, f) * h * snr) / (h * h * snr + 1);
    }
    table[0] = 1;
    const n = 2 * size;
    const spec = fft.forward(extended);
    const hw = fft.halfWidth;
    for (let ky = 0; ky < n; ky++) {
      const fy = (ky <= n / 2 ? ky : ky - n) / n;
      for (let kx = 0; kx < hw; kx++) {
        const w = table[Math.min(FILTER_RINGS - 1, Math.round((Math.hypot(kx / n, fy) / fMax) * FILTER_RINGS))];
        const i = 2 * (ky * hw + kx);
        spec[i] *= w;
        spec[i + 1] *= w;
      }
    }
    const image = fft.inverse(spec, { overwriteInput: true, firstRow: size / 2, rowCount: size });
    const out = new Float64Array(size * size);
    for (let y = 0; y < size; y++) out.set(image.subarray((y + size / 2) * n + size / 2, (y + size / 2) * n + size / 2 + size), y * size);
    return out;
  }

  async close(): Promise<void> {}
}
