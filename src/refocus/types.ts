import type { Frame } from "../hardware/camera/types.js";

/**
 * How a frame is refocused: the learned network (`net`), Richardson–Lucy deconvolution with
 * the DeepFocus blur estimate (`rl`), blind Wiener deconvolution with the configured optics
 * (`wiener`), or the network within one DOF and Wiener beyond, by the frame's spectral defocus estimate (`auto`).
 */
export const REFOCUS_METHODS = ["net", "rl", "wiener", "auto"] as const;
export type RefocusMethod = (typeof REFOCUS_METHODS)[number];

/** What a refocus did, for sidecars, the API and the CLI. */
export interface RefocusInfo {
  method: RefocusMethod;
  /** Wall time of the refocus (ms), I/O excluded. */
  durationMs: number;
  /** Tiles the image was processed in. */
  tiles: number;
  /** SHA-256 of the network (net) or of the DeepFocus model that estimated the blur (rl); null for wiener. */
  modelSha256: string | null;
  /** rl: the per-tile defocus blur radius used (px, after removing the Airy radius); NaN = tile left as is. */
  blurPx?: number[];
  /** wiener: the per-tile defocus estimate |z| (µm); NaN = no signal, tile left as is. */
  defocusUm?: number[];
  /** auto: the method it used. */
  via?: "net" | "wiener";
}

/**
 * Single-shot digital refocus. Contract: the output frame has the input's width, height,
 * bitDepth and pixel type (Uint8Array stays Uint8Array, Uint16Array stays Uint16Array), values
 * rounded and clipped to [0, 2^bitDepth − 1]; `timestampMs` is the input's. The input is not
 * modified. Any width and height ≥ 1 are accepted.
 */
export interface Refocuser {
  readonly method: RefocusMethod;
  refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }>;
  close(): Promise<void>;
}
