import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import { throwIfAborted } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import { openSession, readModel, type ExecutionProvider, type InferenceLog } from "../inference/session.js";
import { normalisationOf, normalise, toFrame } from "./normalise.js";
import { extractMirrored } from "../image/mirrored.js";
import { TileBlender, tileCount, tileGrid, tileOrigins } from "./tiles.js";
import type { RefocusInfo, Refocuser } from "./types.js";
import type { WienerFiltered, WienerRefocuser } from "./wiener.js";

/** The shipped refocus models (models/refocus/, see its README.md model card). */
export const SHIPPED_REFOCUS_MODELS = {
  fp32: fileURLToPath(new URL("../../models/refocus/refocus-fp32.onnx", import.meta.url)),
  int8: fileURLToPath(new URL("../../models/refocus/refocus-int8.onnx", import.meta.url)),
} as const;

const INPUT = "image";
const OUTPUT = "refocused";
/** Tile sides must be multiples of this (five 2× downsamplings). */
export const NET_MULTIPLE = 32;
/** Input channels: the image and its blind Wiener estimate (scripts/refocus/unet.py). */
export const NET_CHANNELS = 2;

export interface NetRefocuserOptions {
  /** A shipped model by precision, or the path of an ONNX file with the same I/O. Default "fp32". */
  model?: "fp32" | "int8" | string;
  executionProviders?: readonly ExecutionProvider[];
  /** Intra-op threads (onnxruntime's default when omitted). */
  threads?: number;
  /** Largest tile side (px, rounded down to a multiple of 32). Default 512. */
  tileSize?: number;
  /** Minimum overlap of neighbouring tiles = blending ramp length (px). Default 64. */
  overlap?: number;
  /** Mirror context around the image (px). Default 32. */
  pad?: number;
  /**
   * The blind Wiener refocuser of the configured optics, whose estimate is the network's second
   * input channel. Without it (optics unknown or too coarsely sampled) that channel is the image
   * itself, as in training for such optics: the network then denoises but barely deconvolves.
   */
  wiener?: WienerRefocuser;
  log?: InferenceLog;
}

/**
 * The refocus network (scripts/refocus/unet.py) applied in overlapping tiles: the frame and its
 * blind Wiener estimate (wiener.ts, when the optics are known) are normalised once with the
 * frame's statistics (normalise.ts), cut into equal tiles (tiles.ts), each two-channel tile goes
 * through the model, and the outputs are blended with raised-cosine weights, de-normalised,
 * rounded and clipped to the frame's bit depth.
 */
export class NetRefocuser implements Refocuser {
  readonly method = "net" as const;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly info: { modelPath: string; sha256: string; provider: ExecutionProvider; precision: "fp32" | "int8" },
    private readonly tiling: { tileSize: number; overlap: number; pad: number },
    /** The Wiener refocuser whose estimate is the second input channel (undefined: the image itself). */
    readonly wiener?: WienerRefocuser,
  ) {}

  /** Runs the model on normalised two-channel tiles [n, 2, h, w] (h, w multiples of 32) → [n, 1, h, w]. */
  async run(tiles: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
    const result = await this.session.run({ [INPUT]: new ort.Tensor("float32", tiles, [n, NET_CHANNELS, h, w]) });
    return result[OUTPUT].data as Float32Array;
  }

  async refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }> {
    const t0 = performance.now();
    return this.refocusWith(frame, this.wiener?.filtered(frame, signal), signal, t0);
  }

  /**
   * `refocus` with the Wiener channel already computed (`wiener.filtered(frame)` of this
   * network's WienerRefocuser, as `auto` has it), or undefined for the image-only channel;
   * `info.durationMs` counts from `t0` (ms, performance.now(): by default now).
   */
  async refocusWith(frame: Frame, wiener: WienerFiltered | undefined, signal?: AbortSignal, t0 = performance.now()): Promise<{ frame: Frame; info: RefocusInfo }> {
    const norm = normalisationOf(frame);
    const src = normalise(frame.data, norm);
    const deconvolved = wiener ? normalise(wiener.image, norm) : src;
    const grid = tileGrid(frame.width, frame.height, { maxTile: this.tiling.tileSize, overlap: this.tiling.overlap, pad: this.tiling.pad, multiple: NET_MULTIPLE });
    const tw = grid.x.size;
    const th = grid.y.size;
    const blender = new TileBlender(grid);
    const tile = new Float32Array(NET_CHANNELS * tw * th);
    for (const [x0, y0] of tileOrigins(grid)) {
      throwIfAborted(signal);
      extractMirrored(src, frame.width, frame.height, x0, y0, tw, th, tile.subarray(0, tw * th));
      extractMirrored(deconvolved, frame.width, frame.height, x0, y0, tw, th, tile.subarray(tw * th));
      blender.add(await this.run(tile, 1, th, tw), x0, y0);
    }
    const out = toFrame(blender.result(), frame, norm);
    const info: RefocusInfo = { method: "net", durationMs: performance.now() - t0, tiles: tileCount(grid), modelSha256: this.info.sha256 };
    return { frame: out, info: wiener ? { ...info, defocusUm: wiener.defocusUm } : info };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads a refocus model (execution provider with fallback, see openSession) and warms it up
 * on one small tile.
 * @throws ConfigError when the file cannot be read; Error when no execution provider can run it.
 */
export async function createNetRefocuser(opts: NetRefocuserOptions = {}): Promise<NetRefocuser> {
  const model = opts.model ?? "fp32";
  const { modelPath, bytes, sha256, precision } = await readModel(model, SHIPPED_REFOCUS_MODELS, "refocus.model");
  const { session, provider } = await openSession(bytes, opts);
  const refocuser = new NetRefocuser(session, { modelPath, sha256, provider, precision }, {
    tileSize: opts.tileSize ?? 512,
    overlap: opts.overlap ?? 64,
    pad: opts.pad ?? 32,
  }, opts.wiener);
  await refocuser.run(new Float32Array(NET_CHANNELS * 64 * 64), 1, 64, 64);
  opts.log?.info({ modelPath, sha256, provider, precision, wienerChannel: opts.wiener !== undefined }, "refocus: model ready");
  return refocuser;
}
