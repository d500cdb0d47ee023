import type { Frame } from "../hardware/camera/types.js";
import { roiTiles } from "../focus/tiles.js";
import type { Rect } from "../focus/types.js";
import { spikeFreeRegion } from "../image/defects.js";
import { extractMirrored } from "../image/mirrored.js";

/** Side (px) of the square full-resolution window a DeepFocus model scores. */
export const DEEPFOCUS_WINDOW = 256;

/** Windows per ROI tile unless configured: a 2×2 cover of tiles up to 512 px (frames up to 2560 px wide with the default ROI). */
export const DEFAULT_MAX_WINDOWS_PER_TILE = 4;

/**
 * The square source region (frame coordinates, full resolution) a tile is scored on: `size` px
 * centred on the tile, shifted to stay inside the frame. Along an axis where the frame is
 * smaller than `size`, the region is centred on the frame and overhangs it on both sides
 * (writeWindows mirrors the frame into the overhang). Of a tile larger than `size` this is the
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
 * Fills `out` (regions.length × size², float32) with the frame's square `regions` (from
 * windowRegion or tileWindows: inside the frame, or overhanging it symmetrically along an axis
 * where the frame is smaller than `size`, mirrored there) in raw pixel values, without
 * isolated defect pixels (spikeFreeRegion); the model normalises each window itself. The frame
 * under the windows is cleaned once: as their bounding box when that is no larger than the
 * windows together (overlapping windows of a small frame), else window by window.
 */
export function writeWindows(frame: Frame, regions: readonly Rect[], size: number, out: Float32Array): void {
  const inside = regions.map((r) => clampToFrame(frame, r));
  const box = inside.reduce((b, r) => union(b, r));
  const separate = inside.reduce((s, r) => s + r.width * r.height, 0) < box.width * box.height;
  const clean = (r: Rect) => spikeFreeRegion(frame.data, frame.width, frame.height, r);
  const write = (source: Rect, pixels: Float32Array, i: number) =>
    extractMirrored(pixels, source.width, source.height, regions[i].x - source.x, regions[i].y - source.y, size, size, out, i * size * size);
  if (!separate) {
    const pixels = clean(box);
    regions.forEach((_, i) => write(box, pixels, i));
  } else
    inside.forEach((r, i) => {
      if (r.width === size && r.height === size) spikeFreeRegion(frame.data, frame.width, frame.height, r, out, i * size * size);
      else write(r, clean(r), i);
    });
}

function clampToFrame(frame: Pick<Frame, "width" | "height">, r: Rect): Rect {
  const x = Math.max(0, r.x);
  const y = Math.max(0, r.y);
  return { x, y, width: Math.min(frame.width, r.x + r.width) - x, height: Math.min(frame.height, r.y + r.height) - y };
}

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}
