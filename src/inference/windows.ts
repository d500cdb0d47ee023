import type { Frame } from "../hardware/camera/types.js";
import { roiTiles } from "../focus/tiles.js";
import type { Rect } from "../focus/types.js";
import { extractMirrored } from "../image/mirrored.js";

/** Side (px) of the square full-resolution window a DeepFocus model scores. */
export const DEEPFOCUS_WINDOW = 256;

/** Windows per ROI tile unless configured: a 2×2 cover of tiles up to 512 px (frames up to 2560 px wide with the default ROI). */
export const DEFAULT_MAX_WINDOWS_PER_TILE = 4;

/**
 * The square source region (frame coordinates, full resolution) a tile is scored on: `size` px
 * centred on the tile, shifted to stay inside the frame. Along an axis where the frame is
 * smaller than `size`, the region is centred on the frame and overhangs it on both sides
 * (writeWindow mirrors the frame into the overhang). Of a tile larger than `size` this is the
 * central `size` px (tileWindows covers more of it): the model always sees camera pixels at
 * 1:1, so its output (a blur radius in pixels) means the same for every ROI.
 */
export function windowRegion(frame: Pick<Frame, "width" | "height">, tile: Rect, size: number): Rect {
  const place = (start: number, span: number, extent: number) =>
    extent <= size ? Math.round((extent - size) / 2) : Math.min(Math.max(0, Math.round(start + span / 2 - size / 2)), extent - size);
  return { x: place(tile.x, tile.width, frame.width), y: place(tile.y, tile.height, frame.height), width: size, height: size };
}

/**
 * The windows (see windowRegion) a tile is scored on. A tile no larger than `size` px gets one
 * window, windowRegion's. A larger tile is split into the fewest sub-tiles per axis that are
 * each no larger than `size` (roiTiles over the tile), at most `maxWindows` in all — when it
 * would need more, the axis with more of them gets fewer, so the windows are spread evenly and
 * see the tile's centre part of each sub-tile — and each sub-tile gets its windowRegion. So on
 * large frames a tile's score comes from most of its area, not only from its central `size` px.
 */
export function tileWindows(frame: Pick<Frame, "width" | "height">, tile: Rect, size: number, maxWindows: number): Rect[] {
  if (!(Number.isInteger(maxWindows) && maxWindows >= 1)) throw new RangeError(`maxWindows must be a positive integer, got ${maxWindows}`);
  let nx = Math.max(1, Math.ceil(tile.width / size));
  let ny = Math.max(1, Math.ceil(tile.height / size));
  while (nx * ny > maxWindows) {
    if (nx >= ny) nx--;
    else ny--;
  }
  const whole = { x: 0, y: 0, width: 1, height: 1, cols: nx, rows: ny };
  return roiTiles(tile.width, tile.height, whole).map((sub) => windowRegion(frame, { ...sub, x: tile.x + sub.x, y: tile.y + sub.y }, size));
}

/**
 * Fills `out[offset .. offset + size²]` with the tile's window (see windowRegion) in raw pixel
 * values (float32, no normalisation: the model normalises each window itself).
 */
export function writeWindow(frame: Frame, tile: Rect, size: number, out: Float32Array, offset: number): void {
  writeRegion(frame, windowRegion(frame, tile, size), out, offset);
}

/** Fills `out[offset ..]` with the square `region` of the frame (mirrored where it overhangs), as writeWindow. */
export function writeRegion(frame: Frame, region: Rect, out: Float32Array, offset: number): void {
  extractMirrored(frame.data, frame.width, frame.height, region.x, region.y, region.width, region.height, out, offset);
}
