import type { Frame } from "../hardware/camera/types.js";
import { meanOf } from "../focus/stats.js";

/**
 * Per-image normalisation of the refocus network (the contract of scripts/refocus/pairs.py's
 * `norm_stats`): n = (v − mean) / scale over the WHOLE image, never per tile, so overlapping
 * tiles see one scale and their outputs blend without steps. `scale` is the population
 * standard deviation, floored at max(1e-3 · full scale, 0.5 DN) so an exactly uniform image does not divide
 * by zero (full scale = 2^bitDepth − 1).
 */
export interface Normalisation {
  mean: number;
  scale: number;
  /** 2^bitDepth − 1. */
  max: number;
}

export function normalisationOf(frame: Frame): Normalisation {
  const { data } = frame;
  const max = 2 ** frame.bitDepth - 1;
  const mean = meanOf(data);
  let ss = 0;
  for (let i = 0; i < data.length; i++) ss += (data[i] - mean) ** 2;
  const std = Math.sqrt(ss / Math.max(1, data.length));
  return { mean, scale: Math.max(std, 1e-3 * max, 0.5), max };
}

/** Pixel values (a frame's data, or an estimate in its DN) in normalised units (float32, row-major). */
export function normalise(values: ArrayLike<number>, n: Normalisation): Float32Array {
  const out = new Float32Array(values.length);
  const inv = 1 / n.scale;
  for (let i = 0; i < out.length; i++) out[i] = (values[i] - n.mean) * inv;
  return out;
}

/**
 * A frame shaped like `like` (size, bit depth, pixel type, timestamp) from float values in
 * raw units (`n` undefined) or normalised units: rounded and clipped to [0, 2^bitDepth − 1].
 */
export function toFrame(values: ArrayLike<number>, like: Frame, n?: Normalisation): Frame {
  const max = 2 ** like.bitDepth - 1;
  const data = like.data instanceof Uint8Array ? new Uint8Array(values.length) : new Uint16Array(values.length);
  const a = n ? n.scale : 1;
  const b = n ? n.mean : 0;
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(values[i] * a + b);
    data[i] = v < 0 ? 0 : v > max ? max : Number.isNaN(v) ? 0 : v;
  }
  return { data, width: like.width, height: like.height, bitDepth: like.bitDepth, timestampMs: like.timestampMs };
}
