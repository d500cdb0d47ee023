/**
 * Overlapping tiles with raised-cosine blending, for processing images of any size with a
 * model (or a deconvolution) that works on fixed-size tiles.
 *
 * Geometry, per axis: the image is extended by `pad` px of mirror reflection on both sides
 * (so image borders get context like interior pixels do); the extended extent E is covered by
 * n = ⌈(E − overlap) / (maxTile − overlap)⌉ tiles of one size t ≤ maxTile (a multiple of
 * `multiple`, just large enough for neighbours to overlap by ≥ `overlap`), spread evenly.
 * An axis shorter than one tile gets one tile, centred, mirror-extended as needed (`exact`:
 * every tile is `maxTile` px, e.g. an FFT size). All tiles
 * of a grid have the same size, so they can be batched.
 *
 * Blending: each tile's output is weighted by w(x)·w(y), w = raised cosine
 * ½ − ½·cos(π(d + ½)/overlap) over the `overlap` px nearest each tile edge (d = distance to
 * the edge) and 1 inside; the result is Σ w·tile / Σ w. Weights are continuous and the
 * normalisation makes any overlap pattern a convex combination, so identical tile outputs
 * give exactly that output (no seam), and differing ones cross-fade over ≥ `overlap` px.
 */

export interface AxisTiles {
  /** Tile size (px) along this axis. */
  size: number;
  /** Tile starts in image coordinates (may be negative or run past the end: mirrored there). */
  starts: number[];
}

export interface TileGrid {
  width: number;
  height: number;
  x: AxisTiles;
  y: AxisTiles;
  overlap: number;
}

export interface TileOptions {
  maxTile: number;
  overlap: number;
  /** Mirror context added around the image (px). */
  pad: number;
  /** Tile sizes are multiples of this (the network needs 32). Default 1. */
  multiple?: number;
  /** Every tile is exactly `maxTile` px (an FFT size), however small the image. Default false. */
  exact?: boolean;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

export function axisTiles(extent: number, o: TileOptions): AxisTiles {
  const m = o.multiple ?? 1;
  const e = extent + 2 * o.pad;
  const maxTile = Math.max(m, Math.floor(o.maxTile / m) * m);
  if (e <= maxTile) {
    const size = o.exact ? maxTile : roundUp(e, m);
    return { size, starts: [-o.pad - Math.floor((size - e) / 2)] };
  }
  if (o.overlap >= maxTile) throw new RangeError(`overlap ${o.overlap} must be below the tile size ${maxTile}`);
  const n = Math.ceil((e - o.overlap) / (maxTile - o.overlap));
  const size = o.exact ? maxTile : Math.min(maxTile, roundUp(Math.ceil((e + (n - 1) * o.overlap) / n), m));
  const starts = Array.from({ length: n }, (_, i) => Math.round((i * (e - size)) / (n - 1)) - o.pad);
  return { size, starts };
}

export function tileGrid(width: number, height: number, o: TileOptions): TileGrid {
  return { width, height, x: axisTiles(width, o), y: axisTiles(height, o), overlap: o.overlap };
}

/** Number of tiles in a grid. */
export const tileCount = (g: TileGrid): number => g.x.starts.length * g.y.starts.length;

/** The tiles of a grid in row-major order: [x0, y0] in image coordinates. */
export function tileOrigins(g: TileGrid): [number, number][] {
  return g.y.starts.flatMap((y0) => g.x.starts.map((x0) => [x0, y0] as [number, number]));
}

/** 1-D blending weights of a tile of `size` px (see the module comment). */
export function rampWeights(size: number, overlap: number): Float32Array {
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const d = Math.min(i, size - 1 - i);
    w[i] = overlap > 0 && d < overlap ? 0.5 - 0.5 * Math.cos((Math.PI * (d + 0.5)) / overlap) : 1;
  }
  return w;
}

/** Accumulates weighted tile outputs over an image and returns the blend. */
export class TileBlender {
  private readonly sum: Float64Array;
  private readonly weight: Float64Array;
  private readonly wx: Float32Array;
  private readonly wy: Float32Array;

  constructor(readonly grid: TileGrid) {
    this.sum = new Float64Array(grid.width * grid.height);
    this.weight = new Float64Array(grid.width * grid.height);
    this.wx = rampWeights(grid.x.size, grid.overlap);
    this.wy = rampWeights(grid.y.size, grid.overlap);
  }

  /** Adds a tile output (tw × th values at `offset`) whose top-left is (x0, y0) in image coordinates. */
  add(values: ArrayLike<number>, x0: number, y0: number, offset = 0): void {
    const { width, height } = this.grid;
    const tw = this.grid.x.size;
    const th = this.grid.y.size;
    const xa = Math.max(0, -x0);
    const xb = Math.min(tw, width - x0);
    for (let y = Math.max(0, -y0); y < Math.min(th, height - y0); y++) {
      const wy = this.wy[y];
      const row = (y0 + y) * width + x0;
      const o = offset + y * tw;
      for (let x = xa; x < xb; x++) {
        const w = wy * this.wx[x];
        this.sum[row + x] += w * values[o + x];
        this.weight[row + x] += w;
      }
    }
  }

  result(): Float32Array {
    const out = new Float32Array(this.sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / this.weight[i];
    return out;
  }
}
