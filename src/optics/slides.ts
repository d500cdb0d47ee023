import type { SampleKind } from "../config/schema.js";
import { blobShape, forEachPixelNear, forEachTile, fractalNoise, smoothstep, type Grid } from "./procedural.js";
import { hashInts } from "./rng.js";

/**
 * A virtual slide: an infinite, seeded, procedural object plane in µm. Values are intensity
 * transmission (brightfield, phase-like) or emission (fluorescence) in [0, 1], or, for a
 * transparent slide (`phase` set), the optical phase it adds in radians; the same (kind,
 * seed) always gives the same slide, whichever window is rendered.
 */
export interface Slide {
  /** Cache key: equal ids render equal objects. */
  readonly id: string;
  /**
   * Set for a transparent (unstained) slide, imaged in bright field by the weak-object transfer
   * function (src/optics/phase-transfer.ts): the field's transmission outside the object, and
   * the object's faint absorption per radian of phase.
   */
  readonly phase?: PhaseSlide;
  /** Fills `out` (width × height, row-major) with the object sampled at the grid's pixel centres. */
  render(out: Float32Array, grid: Grid): void;
}

export type { Grid } from "./procedural.js";

/** How a transparent slide images (see `Slide.phase`). */
export interface PhaseSlide {
  backgroundTransmission: number;
  absorptionPerRad: number;
}

/** Unstained cells: a few per cent of their contrast is absorption, the rest phase. */
const UNSTAINED: PhaseSlide = { backgroundTransmission: 0.85, absorptionPerRad: 0.05 };

/** Creates the slide for a sample kind. `beads` are fluorescent on dark for odd seeds, absorbing on light for even seeds. */
export function createSlide(kind: SampleKind, seed = 1): Slide {
  const render = RENDERERS[kind];
  return { id: `${kind}:${seed}`, ...(kind === "unstained" && { phase: UNSTAINED }), render: (out, grid) => render(out, grid, seed) };
}

const RENDERERS: Record<SampleKind, (out: Float32Array, g: Grid, seed: number) => void> = {
  empty: (out) => out.fill(0.85),
  tissue: renderTissue,
  nuclei: renderNuclei,
  cells: renderCells,
  unstained: renderUnstained,
  beads: renderBeads,
};

/** H&E-like section: stroma texture at many scales, dark nuclei, empty lumens; T = T₀·exp(−absorbance). */
function renderTissue(out: Float32Array, g: Grid, seed: number): void {
  const stroma = fractalNoise(g, [48, 20, 8, 3.5, 1.5, 0.7], [1, 0.6, 0.45, 0.3, 0.2, 0.12], hashInts(seed, 1));
  const fibres = fractalNoise(g, [6, 2.5, 1], [1, 0.7, 0.5], hashInts(seed, 2));
  const lumen = fractalNoise(g, [120, 50], [1, 0.4], hashInts(seed, 3));
  const nuclei = new Float32Array(out.length);
  forEachTile(g, 25, 8, hashInts(seed, 4), (rng, tx, ty) => {
    for (let n = rng.poisson(5); n > 0; n--) {
      const cx = tx + 25 * rng.next(), cy = ty + 25 * rng.next();
      const shape = blobShape(rng, rng.uniform(2.2, 4.5), 0.5, 0.08);
      const absorb = rng.uniform(0.8, 1.6);
      forEachPixelNear(g, cx, cy, shape.reachUm, (dx, dy, i) => {
        const edge = 1 - smoothstep(0.85, 1.05, shape.radial(dx, dy));
        nuclei[i] = Math.max(nuclei[i], absorb * edge * (0.7 + 0.6 * fibres[i]));
      });
    }
  });
  for (let i = 0; i < out.length; i++) {
    const open = 1 - smoothstep(0.6, 0.7, lumen[i]);
    const a = 1.1 * smoothstep(0.38, 0.62, stroma[i]) * (0.5 + fibres[i]) + nuclei[i];
    out[i] = 0.93 * Math.exp(-a * open);
  }
}

/** Fluorescent nuclei (DAPI-like): dark background, bright blobs 5–15 µm with chromatin texture. */
function renderNuclei(out: Float32Array, g: Grid, seed: number): void {
  const chromatin = fractalNoise(g, [2.5, 1.0, 0.5], [1, 0.8, 0.6], hashInts(seed, 1));
  const auto = fractalNoise(g, [60, 15], [1, 0.5], hashInts(seed, 2));
  for (let i = 0; i < out.length; i++) out[i] = 0.01 + 0.02 * auto[i];
  forEachTile(g, 30, 10, hashInts(seed, 3), (rng, tx, ty) => {
    for (let n = rng.poisson(3); n > 0; n--) {
      const cx = tx + 30 * rng.next(), cy = ty + 30 * rng.next();
      const shape = blobShape(rng, rng.uniform(2.5, 7.5), 0.35, 0.05);
      const bright = rng.uniform(0.3, 0.8);
      forEachPixelNear(g, cx, cy, shape.reachUm, (dx, dy, i) => {
        const inside = 1 - smoothstep(0.8, 1.05, shape.radial(dx, dy));
        if (inside > 0) out[i] = Math.min(1, out[i] + bright * inside * (0.6 + 0.7 * chromatin[i]));
      });
    }
  });
}

/** Phase-contrast-like cells: mid grey, weak interior modulation, dark outline with a bright halo. */
function renderCells(out: Float32Array, g: Grid, seed: number): void {
  const granules = fractalNoise(g, [4, 1.5, 0.7], [1, 0.7, 0.5], hashInts(seed, 1));
  const mod = new Float32Array(out.length);
  forEachTile(g, 40, 30, hashInts(seed, 2), (rng, tx, ty) => {
    for (let n = rng.poisson(2.2); n > 0; n--) {
      const cx = tx + 40 * rng.next(), cy = ty + 40 * rng.next();
      const rUm = rng.uniform(8, 18);
      const shape = blobShape(rng, rUm, 0.4, 0.12);
      const nucleus = blobShape(rng, 0.3 * rUm, 0.2, 0.03);
      const nx = 0.25 * rUm * rng.uniform(-1, 1), ny = 0.25 * rUm * rng.uniform(-1, 1);
      forEachPixelNear(g, cx, cy, shape.reachUm + 2, (dx, dy, i) => {
        const d = (shape.radial(dx, dy) - 1) * rUm;
        const body = 1 - smoothstep(-1, 0.3, d);
        const rim = Math.exp(-((d + 0.5) ** 2) / 0.3);
        const halo = Math.exp(-((d - 0.9) ** 2) / 0.6);
        const nuc = 1 - smoothstep(0.9, 1.1, nucleus.radial(dx - nx, dy - ny));
        mod[i] += body * (-0.04 + 0.05 * (granules[i] - 0.5) - 0.03 * nuc) - 0.09 * rim + 0.1 * halo;
      });
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, 0.5 + 0.01 * (granules[i] - 0.5) + mod[i]));
}

/**
 * Unstained cultured cells in bright field, as phase (radians): cell bodies 8–20 µm across as
 * domes of 0.25–0.5 rad, a nucleus adding 0.1–0.2 rad, granules of 0.03–0.08 rad and
 * 0.6–1.6 µm across; cells cover about a sixth of the field. Phases stay at or below a radian
 * (capped there where cells overlap), where the linear (weak-object) transfer function still
 * images them closely.
 */
function renderUnstained(out: Float32Array, g: Grid, seed: number): void {
  out.fill(0);
  forEachTile(g, 40, 30, hashInts(seed, 1), (rng, tx, ty) => {
    for (let n = rng.poisson(1.6); n > 0; n--) {
      const cx = tx + 40 * rng.next(), cy = ty + 40 * rng.next();
      const rUm = rng.uniform(4, 10);
      const body = blobShape(rng, rUm, 0.5, 0.1);
      const peak = rng.uniform(0.25, 0.5);
      const nucleus = blobShape(rng, 0.35 * rUm, 0.2, 0.03);
      const nx = 0.2 * rUm * rng.uniform(-1, 1), ny = 0.2 * rUm * rng.uniform(-1, 1);
      const nucleusRad = rng.uniform(0.1, 0.2);
      forEachPixelNear(g, cx, cy, body.reachUm, (dx, dy, i) => {
        const r = body.radial(dx, dy);
        if (r >= 1) return;
        const inNucleus = 1 - smoothstep(0.85, 1.1, nucleus.radial(dx - nx, dy - ny));
        out[i] += peak * Math.sqrt(1 - r * r) + nucleusRad * inNucleus;
      });
      for (let k = rng.poisson(12); k > 0; k--) {
        const gx = cx + 0.6 * rUm * rng.uniform(-1, 1), gy = cy + 0.6 * rUm * rng.uniform(-1, 1);
        const gr = rng.uniform(0.3, 0.8), gPeak = rng.uniform(0.03, 0.08);
        forEachPixelNear(g, gx, gy, gr, (dx, dy, i) => {
          const d2 = (dx * dx + dy * dy) / (gr * gr);
          if (d2 < 1) out[i] += gPeak * Math.sqrt(1 - d2);
        });
      }
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i]);
}

/** Sparse beads 0.2–2 µm: emission of fluorescent beads on dark (odd seeds) or absorption on light (even seeds); pixel coverage by 4×4 supersampling. */
function renderBeads(out: Float32Array, g: Grid, seed: number): void {
  const fluorescent = (seed & 1) === 1;
  const coverage = new Float32Array(out.length);
  forEachTile(g, 20, 2, hashInts(seed, 1), (rng, tx, ty) => {
    for (let n = rng.poisson(1); n > 0; n--) {
      const cx = tx + 20 * rng.next(), cy = ty + 20 * rng.next();
      const rUm = 0.5 * Math.exp(rng.uniform(Math.log(0.2), Math.log(2)));
      forEachPixelNear(g, cx, cy, rUm + g.dxUm, (dx, dy, i) => {
        let hits = 0;
        for (let sy = 0; sy < 4; sy++)
          for (let sx = 0; sx < 4; sx++) if (Math.hypot(dx + ((sx - 1.5) / 4) * g.dxUm, dy + ((sy - 1.5) / 4) * g.dxUm) <= rUm) hits++;
        coverage[i] = Math.min(1, coverage[i] + hits / 16);
      });
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = fluorescent ? 0.02 + 0.98 * coverage[i] : 0.9 * (1 - 0.75 * coverage[i]);
}

