import type { Frame } from "../hardware/camera/types.js";
import type { Rect } from "../focus/types.js";

/**
 * The square source region a tile is scored on: the largest square centred in the tile when
 * the tile is at least `size` px on its short side; otherwise a `size`-px square centred on
 * the tile and shifted to stay inside the frame (it then also sees neighbouring pixels).
 * A frame smaller than `size` gives its largest centred square.
 */
export function windowRegion(frame: Pick<Frame, "width" | "height">, tile: Rect, size: number): Rect {
  const short = Math.min(tile.width, tile.height);
  const side = short >= size ? short : Math.min(size, frame.width, frame.height);
  const cx = tile.x + tile.width / 2;
  const cy = tile.y + tile.height / 2;
  const x = Math.min(Math.max(0, Math.round(cx - side / 2)), frame.width - side);
  const y = Math.min(Math.max(0, Math.round(cy - side / 2)), frame.height - side);
  return { x, y, width: side, height: side };
}

/** Per output pixel: the source pixels covering its footprint and their area weights (sum 1). */
function areaWeights(start: number, span: number, size: number): { idx: Int32Array; w: Float32Array; ptr: Int32Array } {
  const f = span / size;
  const idx: number[] = [];
  const w: number[] = [];
  const ptr = new Int32Array(size + 1);
  for (let i = 0; i < size; i++) {
    const a = i * f;
    const b = a + f;
    for (let j = Math.floor(a); j < Math.ceil(b); j++) {
      const overlap = Math.min(b, j + 1) - Math.max(a, j);
      if (overlap > 1e-9) {
        idx.push(start + j);
        w.push(overlap / f);
      }
    }
    ptr[i + 1] = idx.length;
  }
  return { idx: Int32Array.from(idx), w: Float32Array.from(w), ptr };
}

/**
 * Fills `out[offset .. offset + size²]` with the tile's window in raw pixel values (float32,
 * no normalisation: the model normalises each window itself). Regions larger than `size` are
 * area-averaged down to `size`×`size` (the same factor on both axes, so blur stays isotropic).
 */
export function writeWindow(frame: Frame, tile: Rect, size: number, out: Float32Array, offset: number): void {
  const r = windowRegion(frame, tile, size);
  const { data, width } = frame;
  if (r.width === size) {
    for (let y = 0; y < size; y++) {
      const src = (r.y + y) * width + r.x;
      for (let x = 0; x < size; x++) out[offset + y * size + x] = data[src + x];
    }
    return;
  }
  const cols = areaWeights(r.x, r.width, size);
  const rows = areaWeights(r.y, r.height, size);
  const tmp = new Float32Array(r.height * size);
  for (let y = 0; y < r.height; y++) {
    const row = (r.y + y) * width;
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = cols.ptr[x]; k < cols.ptr[x + 1]; k++) s += cols.w[k] * data[row + cols.idx[k]];
      tmp[y * size + x] = s;
    }
  }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = rows.ptr[y]; k < rows.ptr[y + 1]; k++) s += rows.w[k] * tmp[(rows.idx[k] - r.y) * size + x];
      out[offset + y * size + x] = s;
    }
}
