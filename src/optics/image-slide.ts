import type { Frame } from "../hardware/camera/types.js";
import type { Grid, Slide } from "./slides.js";

/**
 * A virtual slide made from a picture: an in-focus micrograph (yours, or any 8/16-bit image)
 * laid on the object plane with `pixelUm` µm per image pixel, mirrored at its edges so the
 * plane is infinite, centred on the optical axis. Values are the image's grey levels over its
 * full scale (0…1): bright pixels transmit or emit more, as in the picture.
 *
 * Sampling is bilinear; where the grid is coarser than the picture (dxUm ≥ 2·pixelUm) the
 * picture is first box-averaged by ⌊dxUm / pixelUm⌋ so the object does not alias.
 * The picture keeps whatever blur it was recorded with: it stays the sharpest plane there is.
 */
export function imageSlide(picture: Frame, pixelUm: number, id: string): Slide {
  if (!(pixelUm > 0)) throw new RangeError(`image slide pixel size must be > 0 µm, got ${pixelUm}`);
  if (picture.width < 2 || picture.height < 2) throw new RangeError(`image slide needs at least 2×2 pixels, got ${picture.width}×${picture.height}`);
  const full = (1 << picture.bitDepth) - 1;
  const levels = new Float32Array(picture.width * picture.height);
  for (let i = 0; i < levels.length; i++) levels[i] = picture.data[i] / full;
  const base: Level = { data: levels, width: picture.width, height: picture.height, pixelUm };
  const byFactor = new Map<number, Level>([[1, base]]);
  const level = (factor: number): Level => {
    let l = byFactor.get(factor);
    if (!l) byFactor.set(factor, (l = boxAverage(base, factor)));
    return l;
  };
  return {
    id: `image:${id}:${pixelUm}`,
    render(out: Float32Array, g: Grid): void {
      const l = level(Math.max(1, Math.floor(g.dxUm / pixelUm)));
      const xs = axis(g.x0Um, g.dxUm, g.width, l.pixelUm, l.width);
      const ys = axis(g.y0Um, g.dxUm, g.height, l.pixelUm, l.height);
      for (let j = 0; j < g.height; j++) {
        const r0 = ys.lo[j] * l.width, r1 = ys.hi[j] * l.width, fy = ys.frac[j];
        for (let i = 0; i < g.width; i++) {
          const x0 = xs.lo[i], x1 = xs.hi[i], fx = xs.frac[i];
          const top = l.data[r0 + x0] + fx * (l.data[r0 + x1] - l.data[r0 + x0]);
          const bottom = l.data[r1 + x0] + fx * (l.data[r1 + x1] - l.data[r1 + x0]);
          out[j * g.width + i] = top + fy * (bottom - top);
        }
      }
    },
  };
}

interface Level {
  data: Float32Array;
  width: number;
  height: number;
  pixelUm: number;
}

/** The picture averaged over factor × factor blocks (partial blocks at the far edges dropped). */
function boxAverage(l: Level, factor: number): Level {
  const width = Math.max(2, Math.floor(l.width / factor));
  const height = Math.max(2, Math.floor(l.height / factor));
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let sum = 0, n = 0;
      for (let dy = 0; dy < factor && y * factor + dy < l.height; dy++)
        for (let dx = 0; dx < factor && x * factor + dx < l.width; dx++, n++) sum += l.data[(y * factor + dy) * l.width + x * factor + dx];
      data[y * width + x] = sum / n;
    }
  return { data, width, height, pixelUm: l.pixelUm * factor };
}

/**
 * For each grid sample along one axis, the two picture pixels around it and the weight of the
 * second, with the picture centred on µm 0 and mirrored (period 2·size − 2, edges not doubled).
 */
function axis(originUm: number, dxUm: number, count: number, pixelUm: number, size: number) {
  const lo = new Int32Array(count), hi = new Int32Array(count), frac = new Float32Array(count);
  const period = 2 * size - 2;
  const mirror = (k: number) => {
    const m = ((k % period) + period) % period;
    return m < size ? m : period - m;
  };
  for (let i = 0; i < count; i++) {
    const u = (originUm + i * dxUm) / pixelUm + (size - 1) / 2;
    const k = Math.floor(u);
    lo[i] = mirror(k);
    hi[i] = mirror(k + 1);
    frac[i] = u - k;
  }
  return { lo, hi, frac };
}
