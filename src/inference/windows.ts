import type { Frame } from "../hardware/camera/types.js";
import type { Rect } from "../focus/types.js";

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

/** Mirror an index into [0, n) (symmetric reflection, period 2n). */
function mirror(i: number, n: number): number {
  const p = 2 * n;
  const m = ((i % p) + p) % p;
  return m < n ? m : p - 1 - m;
}

/**
 * Fills `out[offset .. offset + size²]` with the tile's window (see windowRegion) in raw pixel
 * values (float32, no normalisation: the model normalises each window itself).
 */
export function writeWindow(frame: Frame, tile: Rect, size: number, out: Float32Array, offset: number): void {
  const r = windowRegion(frame, tile, size);
  const { data, width, height } = frame;
  const cols = Int32Array.from({ length: size }, (_, x) => mirror(r.x + x, width));
  for (let y = 0; y < size; y++) {
    const row = mirror(r.y + y, height) * width;
    const o = offset + y * size;
    for (let x = 0; x < size; x++) out[o + x] = data[row + cols[x]];
  }
}
