import type { Frame } from "../hardware/camera/types.js";
import type { Rect } from "../focus/types.js";
import { extractMirrored } from "../image/mirrored.js";

/** Side (px) of the square full-resolution window a DeepFocus model scores. */
export const DEEPFOCUS_WINDOW = 256;

/**
 * The square source region (frame coordinates, full resolution) a tile is scored on: `size` px
 * centred on the tile, shifted to stay inside the frame. Along an axis where the frame is
 * smaller than `size`, the region is centred on the frame and overhangs it on both sides
 * (writeWindow mirrors the frame into the overhang). Tiles larger than `size` are scored on
 * their central `size` px: the model always sees camera pixels at 1:1, so its output (a blur
 * radius in pixels) means the same for every ROI.
 */
export function windowRegion(frame: Pick<Frame, "width" | "height">, tile: Rect, size: number): Rect {
  const place = (start: number, span: number, extent: number) =>
    extent <= size ? Math.round((extent - size) / 2) : Math.min(Math.max(0, Math.round(start + span / 2 - size / 2)), extent - size);
  return { x: place(tile.x, tile.width, frame.width), y: place(tile.y, tile.height, frame.height), width: size, height: size };
}

/**
 * Fills `out[offset .. offset + size²]` with the tile's window (see windowRegion) in raw pixel
 * values (float32, no normalisation: the model normalises each window itself).
 */
export function writeWindow(frame: Frame, tile: Rect, size: number, out: Float32Array, offset: number): void {
  const r = windowRegion(frame, tile, size);
  extractMirrored(frame.data, frame.width, frame.height, r.x, r.y, size, size, out, offset);
}
