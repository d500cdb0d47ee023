import { throwIfAborted } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import type { BlurEstimator } from "./blur-estimate.js";
import { toFrame } from "./normalise.js";
import { defocusRadiusPx, discOtf } from "./psf.js";
import { richardsonLucy, type RichardsonLucyOptions } from "./richardson-lucy.js";
import { extractMirrored } from "../image/mirrored.js";
import { windowRegion, writeWindows } from "../inference/windows.js";
import { TileBlender, tileCount, tileGrid, tileOrigins } from "./tiles.js";
import type { RefocusInfo, Refocuser } from "./types.js";

export interface RlRefocuserOptions extends RichardsonLucyOptions {
  /** Per-tile blur estimates (DeepFocus, or a fixed blur). */
  blur: BlurEstimator;
  /** Airy radius of the optics in px (0.61 λ / NA / pixel); default 1 when the optics are unknown. */
  airyPx?: number;
  /** Tile side (px, a power of two; the FFT grid of RL). Default 256. */
  tileSize?: number;
  /** Minimum overlap of neighbouring tiles = blending ramp length (px). Default 96. */
  overlap?: number;
  /** Mirror context around the image (px). Default 32. */
  pad?: number;
}

/**
 * Spatially variant Richardson–Lucy refocus (the model-based baseline of issue 9): the frame
 * is cut into overlapping tiles (tiles.ts); each tile's blur radius comes from the
 * BlurEstimator on the `window`-px window centred on it (inference/windows.ts: clamped in
 * the frame, mirrored where the frame is smaller), the
 * defocus disc follows from it (psf.ts), the tile is deconvolved in raw pixel units
 * (richardson-lucy.ts) and the tiles are blended with raised-cosine weights. A tile the
 * estimator calls invalid (no texture), or whose defocus radius is below 0.5 px, is kept as is.
 */
export class RlRefocuser implements Refocuser {
  readonly method = "rl" as const;
  private readonly otfs = new Map<number, Float64Array>();

  constructor(private readonly opts: RlRefocuserOptions) {
    const size = opts.tileSize ?? 256;
    if ((size & (size - 1)) !== 0) throw new RangeError(`RL tile size must be a power of two, got ${size}`);
  }

  async refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }> {
    const t0 = performance.now();
    const size = this.opts.tileSize ?? 256;
    const grid = tileGrid(frame.width, frame.height, { maxTile: size, overlap: this.opts.overlap ?? 96, pad: this.opts.pad ?? 32, exact: true });
    const origins = tileOrigins(grid);
    const blurPx = await this.blurPerTile(frame, origins, size);
    const blender = new TileBlender(grid);
    const tile = new Float32Array(size * size);
    for (const [i, [x0, y0]] of origins.entries()) {
      throwIfAborted(signal);
      extractMirrored(frame.data, frame.width, frame.height, x0, y0, size, size, tile);
      const r = blurPx[i];
      blender.add(Number.isFinite(r) && r >= 0.5 ? richardsonLucy(tile, size, this.otf(r, size), this.opts) : tile, x0, y0);
    }
    const out = toFrame(blender.result(), frame);
    return { frame: out, info: { method: "rl", durationMs: performance.now() - t0, tiles: tileCount(grid), modelSha256: this.opts.blur.sha256, blurPx } };
  }

  /** Defocus radius (px) per tile; NaN for tiles the estimator calls invalid. */
  private async blurPerTile(frame: Frame, origins: [number, number][], size: number): Promise<number[]> {
    const w = this.opts.blur.window;
    const windows = new Float32Array(origins.length * w * w);
    writeWindows(frame, origins.map(([x, y]) => windowRegion(frame, { x, y, width: size, height: size }, w)), w, windows);
    const { defocus, validity } = await this.opts.blur.scoreWindows(windows, origins.length);
    const airy = this.opts.airyPx ?? 1;
    return origins.map((_, i) => (validity[i] > 0 && Number.isFinite(defocus[i]) ? Math.round(defocusRadiusPx(defocus[i], airy) * 4) / 4 : Number.NaN));
  }

  /** OTF cache by radius (quantised to 0.25 px above). */
  private otf(r: number, size: number): Float64Array {
    let otf = this.otfs.get(r);
    if (!otf) {
      otf = discOtf(r, size);
      if (this.otfs.size > 256) this.otfs.clear();
      this.otfs.set(r, otf);
    }
    return otf;
  }

  async close(): Promise<void> {}
}
