import { latticeValue, Rng, hashInts } from "./rng.js";

/**
 * Procedural building blocks for virtual slides. A `Grid` is a window of the infinite slide
 * plane: pixel (i, j) samples the point (x0Um + i·dxUm, y0Um + j·dxUm).
 */
export interface Grid {
  x0Um: number;
  y0Um: number;
  dxUm: number;
  width: number;
  height: number;
}

/** Smoothstep from 0 at `lo` to 1 at `hi`. */
export function smoothstep(lo: number, hi: number, v: number): number {
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  return t * t * (3 - 2 * t);
}

/**
 * Adds value noise (lattice spacing `cellUm`, values in [0, 1), smoothstep interpolation)
 * times `amplitude` to `out`. Octaves finer than ~2 pixels fade out, so the object stays
 * band-limited at any magnification. Returns the weight actually added.
 */
export function addValueNoise(out: Float32Array, g: Grid, cellUm: number, amplitude: number, seed: number): number {
  const weight = amplitude * smoothstep(1.5, 3, cellUm / g.dxUm);
  if (weight === 0) return 0;
  const axis = (originUm: number, count: number) => {
    const idx = new Int32Array(count);
    const frac = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const u = (originUm + i * g.dxUm) / cellUm;
      idx[i] = Math.floor(u);
      const t = u - idx[i];
      frac[i] = t * t * (3 - 2 * t);
    }
    return { idx, frac, first: idx[0], span: idx[count - 1] - idx[0] + 2 };
  };
  const xs = axis(g.x0Um, g.width);
  const ys = axis(g.y0Um, g.height);
  const lattice = new Float32Array(xs.span * ys.span);
  for (let j = 0; j < ys.span; j++)
    for (let i = 0; i < xs.span; i++) lattice[j * xs.span + i] = latticeValue(xs.first + i, ys.first + j, seed);
  for (let y = 0; y < g.height; y++) {
    const row = (ys.idx[y] - ys.first) * xs.span;
    const sy = ys.frac[y];
    for (let x = 0; x < g.width; x++) {
      const c = row + xs.idx[x] - xs.first;
      const sx = xs.frac[x];
      const top = lattice[c] + sx * (lattice[c + 1] - lattice[c]);
      const bottom = lattice[c + xs.span] + sx * (lattice[c + xs.span + 1] - lattice[c + xs.span]);
      out[y * g.width + x] += weight * (top + sy * (bottom - top));
    }
  }
  return weight;
}

/** Multi-octave value noise normalised to [0, 1] (mean ≈ 0.5): octave i has lattice `cellsUm[i]` and weight `weights[i]`. */
export function fractalNoise(g: Grid, cellsUm: number[], weights: number[], seed: number): Float32Array {
  const out = new Float32Array(g.width * g.height);
  let total = 0;
  cellsUm.forEach((cell, i) => (total += addValueNoise(out, g, cell, weights[i], hashInts(seed, i))));
  if (total > 0) for (let i = 0; i < out.length; i++) out[i] /= total;
  else out.fill(0.5);
  return out;
}

/**
 * Calls `spawn` once per square tile of side `tileUm` that may hold objects reaching into
 * the grid (objects extend at most `reachUm` from their tile). Each tile gets its own RNG
 * seeded by (tile, seed), so a slide is the same whichever window renders it.
 */
export function forEachTile(g: Grid, tileUm: number, reachUm: number, seed: number, spawn: (rng: Rng, tileX0Um: number, tileY0Um: number) => void): void {
  const x1 = g.x0Um + g.width * g.dxUm;
  const y1 = g.y0Um + g.height * g.dxUm;
  for (let ty = Math.floor((g.y0Um - reachUm) / tileUm); ty * tileUm < y1 + reachUm; ty++)
    for (let tx = Math.floor((g.x0Um - reachUm) / tileUm); tx * tileUm < x1 + reachUm; tx++) spawn(new Rng(hashInts(tx, ty, seed)), tx * tileUm, ty * tileUm);
}

/**
 * Visits the pixels within `radiusUm` of (cxUm, cyUm), passing the offset from the centre
 * (µm) and the pixel index.
 */
export function forEachPixelNear(g: Grid, cxUm: number, cyUm: number, radiusUm: number, visit: (dxUm: number, dyUm: number, index: number) => void): void {
  const i0 = Math.max(0, Math.floor((cxUm - radiusUm - g.x0Um) / g.dxUm));
  const i1 = Math.min(g.width - 1, Math.ceil((cxUm + radiusUm - g.x0Um) / g.dxUm));
  const j0 = Math.max(0, Math.floor((cyUm - radiusUm - g.y0Um) / g.dxUm));
  const j1 = Math.min(g.height - 1, Math.ceil((cyUm + radiusUm - g.y0Um) / g.dxUm));
  for (let j = j0; j <= j1; j++) {
    const dy = g.y0Um + j * g.dxUm - cyUm;
    for (let i = i0; i <= i1; i++) visit(g.x0Um + i * g.dxUm - cxUm, dy, j * g.width + i);
  }
}

/**
 * An elliptical blob: semi-axes aUm, bUm, rotated by `angle`, with a boundary perturbed by
 * low harmonics (irregular cell/nucleus outlines). `radial(dx, dy)` is the normalised
 * radius: 1 on the outline.
 */
export function blobShape(rng: Rng, rUm: number, elongation: number, irregularity: number): { reachUm: number; radial: (dxUm: number, dyUm: number) => number } {
  const a = rUm * (1 + elongation * rng.next());
  const b = rUm * (1 - elongation * rng.next() * 0.5);
  const angle = Math.PI * rng.next();
  const c = Math.cos(angle), s = Math.sin(angle);
  const h2 = irregularity * rng.uniform(-1, 1), g2 = irregularity * rng.uniform(-1, 1);
  const h3 = irregularity * rng.uniform(-1, 1), g3 = irregularity * rng.uniform(-1, 1);
  return {
    reachUm: Math.max(a, b) * (1 + Math.hypot(h2, g2) + Math.hypot(h3, g3)),
    radial(dx, dy) {
      const u = (dx * c + dy * s) / a;
      const v = (-dx * s + dy * c) / b;
      const r2 = u * u + v * v;
      if (r2 === 0) return 0;
      const cos2 = (u * u - v * v) / r2, sin2 = (2 * u * v) / r2;
      const r = Math.sqrt(r2);
      const cos3 = (u * (u * u - 3 * v * v)) / (r2 * r), sin3 = (v * (3 * u * u - v * v)) / (r2 * r);
      return r / (1 + h2 * cos2 + g2 * sin2 + h3 * cos3 + g3 * sin3);
    },
  };
}
