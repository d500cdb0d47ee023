import type { Rect, Roi } from "./types.js";

/**
 * Splits the ROI (fractions of a `width`×`height` frame) into `roi.cols`×`roi.rows` integer
 * pixel rects, row-major. The ROI edges are rounded to whole pixels; the tiles cover that
 * pixel rectangle exactly, without overlap, and differ in size by at most one pixel.
 * @throws RangeError when the grid is not positive integers, the ROI leaves the frame,
 *   or a tile would be empty.
 */
export function roiTiles(width: number, height: number, roi: Roi): Rect[] {
  const { cols, rows } = roi;
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1)
    throw new RangeError(`ROI grid must be positive integers, got ${cols}×${rows}`);
  const xs = edges(roi.x, roi.width, width, cols);
  const ys = edges(roi.y, roi.height, height, rows);
  const tiles: Rect[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) tiles.push({ x: xs[c], y: ys[r], width: xs[c + 1] - xs[c], height: ys[r + 1] - ys[r] });
  return tiles;
}

/** The part of `r` inside a `width` × `height` frame (width or height 0 when they do not overlap). */
export function clipRect(r: Rect, width: number, height: number): Rect {
  const x = Math.max(0, r.x), y = Math.max(0, r.y);
  return { x, y, width: Math.max(0, Math.min(width, r.x + r.width) - x), height: Math.max(0, Math.min(height, r.y + r.height) - y) };
}

function edges(start: number, span: number, sizePx: number, n: number): number[] {
  const eps = 1e-9;
  if (!(start >= -eps && span > 0 && start + span <= 1 + eps)) throw new RangeError(`ROI [${start}, ${start + span}] must lie inside the frame [0, 1]`);
  const lo = Math.max(0, Math.round(start * sizePx));
  const hi = Math.min(sizePx, Math.round((start + span) * sizePx));
  if (hi - lo < n) throw new RangeError(`ROI of ${hi - lo} px cannot be split into ${n} tiles`);
  return Array.from({ length: n + 1 }, (_, i) => lo + Math.round(((hi - lo) * i) / n));
}
