import { forEachPixelNear, forEachTile, fractalNoise, smoothstep, type Grid } from "./procedural.js";
import { hashInts, type Rng } from "./rng.js";
import type { Slide } from "./slides.js";

/**
 * Virtual slides with textures the DeepFocus CNN never saw in training (its sources are
 * tissue, nuclei, Voronoi cells, fibres, beads and edges/gratings; scripts/deepfocus/synth.py),
 * for the invariance benchmark. Same contract as slides.ts: an infinite, seeded object plane
 * in µm, values in [0, 1].
 *
 * - `diatoms`: brightfield silica frustules — pennate (elongated, pointed) valves with
 *   transverse striae of pores (period 1.0–2.4 µm, near the 10×/0.3 resolution limit), a raphe
 *   and central nodule, and centric (round) valves with radial ribs and concentric pore rows.
 * - `pollen`: fluorescent echinate pollen grains on a dark field: spheres 20–44 µm across with a
 *   reticulate exine and 30–90 conical spines seen in projection (dots on the face, thorns on
 *   the rim).
 * - `usaf`: a USAF-1951-like chrome-on-glass target: elements of three horizontal and three
 *   vertical bars, bar widths 0.5–3 µm in steps of 2^(1/6), exact pixel-area coverage. (Closest
 *   to the training "edges" source, which holds gratings and half-planes; binary and sparse here.)
 * - `mesh`: a woven fabric / sieve: two orthogonal thread families (pitch 6–14 µm, seeded
 *   rotation) with cylindrical absorbance profiles, over/under narrowing, waviness and fine
 *   fibril striations along the threads.
 */

export const HELDOUT_TEXTURES = ["diatoms", "pollen", "usaf", "mesh"] as const;
export type HeldoutTexture = (typeof HELDOUT_TEXTURES)[number];

export function createHeldoutSlide(kind: HeldoutTexture, seed = 1): Slide {
  const render = RENDERERS[kind];
  if (!render) throw new RangeError(`unknown held-out texture "${kind}"`);
  return { id: `heldout-${kind}:${seed}`, render: (out, grid) => render(out, grid, seed) };
}

const RENDERERS: Record<HeldoutTexture, (out: Float32Array, g: Grid, seed: number) => void> = {
  diatoms: renderDiatoms,
  pollen: renderPollen,
  usaf: renderUsaf,
  mesh: renderMesh,
};

/** Brightfield diatoms on glass (transmission 0.9·exp(−absorbance)). */
function renderDiatoms(out: Float32Array, g: Grid, seed: number): void {
  const absorb = new Float32Array(out.length);
  const grain = fractalNoise(g, [3, 1.2], [1, 0.6], hashInts(seed, 11));
  forEachTile(g, 70, 45, hashInts(seed, 12), (rng, tx, ty) => {
    for (let n = rng.poisson(1.6); n > 0; n--) {
      const cx = tx + 70 * rng.next(), cy = ty + 70 * rng.next();
      if (rng.next() < 0.65) pennate(rng, cx, cy);
      else centric(rng, cx, cy);
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = 0.9 * Math.exp(-absorb[i]) * (0.97 + 0.03 * grain[i]);

  function pennate(rng: Rng, cx: number, cy: number): void {
    const a = rng.uniform(12, 30); // half-length
    const b = a * rng.uniform(0.16, 0.32); // half-width
    const k = rng.uniform(1.4, 2.2); // tip pointedness (superellipse exponent along the length)
    const angle = Math.PI * rng.next();
    const c = Math.cos(angle), s = Math.sin(angle);
    const period = rng.uniform(1.0, 2.4); // striae spacing
    const porePeriod = period * rng.uniform(0.7, 1.1);
    const strength = rng.uniform(0.35, 0.8);
    forEachPixelNear(g, cx, cy, a + 1, (dx, dy, i) => {
      const u = dx * c + dy * s;
      const v = -dx * s + dy * c;
      const q = Math.abs(u / a) ** k + (v / b) ** 2;
      if (q > 1.15) return;
      const inside = 1 - smoothstep(0.92, 1.02, q);
      const rim = Math.exp(-(((q - 0.97) / 0.05) ** 2));
      const striae = 0.5 + 0.5 * Math.cos((2 * Math.PI * u) / period);
      const pores = 0.5 + 0.5 * Math.cos((2 * Math.PI * v) / porePeriod);
      const raphe = Math.exp(-((v / 0.35) ** 2)) * (Math.abs(u) < 0.9 * a ? 1 : 0);
      const nodule = Math.exp(-((u / 1.2) ** 2 + (v / 1.2) ** 2));
      const axial = Math.abs(v) < 0.12 * b ? 0.3 : 1; // hyaline axial area between the striae
      absorb[i] += strength * (inside * (0.25 + 0.5 * axial * striae * (0.4 + 0.6 * pores)) + 0.9 * rim + 0.8 * raphe * inside + 0.6 * nodule);
    });
  }

  function centric(rng: Rng, cx: number, cy: number): void {
    const r0 = rng.uniform(8, 24);
    const period = rng.uniform(1.1, 2.4);
    const ribs = Math.round((2 * Math.PI * 0.6 * r0) / period);
    const phase = 2 * Math.PI * rng.next();
    const strength = rng.uniform(0.35, 0.8);
    forEachPixelNear(g, cx, cy, r0 + 1, (dx, dy, i) => {
      const r = Math.hypot(dx, dy);
      const q = r / r0;
      if (q > 1.08) return;
      const inside = 1 - smoothstep(0.95, 1.02, q);
      const rim = Math.exp(-(((q - 0.97) / 0.035) ** 2));
      const theta = Math.atan2(dy, dx);
      const rib = 0.5 + 0.5 * Math.cos(ribs * theta + phase);
      const rows = 0.5 + 0.5 * Math.cos((2 * Math.PI * r) / period);
      const centre = 1 - smoothstep(0.12, 0.2, q); // hyaline central area
      absorb[i] += strength * (inside * (0.2 + 0.55 * (1 - centre) * rib * (0.3 + 0.7 * rows)) + 0.9 * rim);
    });
  }
}

/** Fluorescent echinate pollen on a dark field. */
function renderPollen(out: Float32Array, g: Grid, seed: number): void {
  const exine = fractalNoise(g, [2.2, 1.0, 0.6], [1, 0.8, 0.5], hashInts(seed, 21));
  const bg = fractalNoise(g, [40, 12], [1, 0.5], hashInts(seed, 22));
  for (let i = 0; i < out.length; i++) out[i] = 0.015 + 0.015 * bg[i];
  const spines = new Float32Array(out.length);
  forEachTile(g, 64, 30, hashInts(seed, 23), (rng, tx, ty) => {
    for (let n = rng.poisson(1.1); n > 0; n--) {
      const cx = tx + 64 * rng.next(), cy = ty + 64 * rng.next();
      const R = rng.uniform(10, 22);
      const bright = rng.uniform(0.35, 0.75);
      const reticulum = rng.uniform(0.3, 0.7);
      forEachPixelNear(g, cx, cy, R + 0.5, (dx, dy, i) => {
        const q = Math.hypot(dx, dy) / R;
        if (q >= 1.02) return;
        const thick = Math.sqrt(Math.max(0, 1 - Math.min(1, q) ** 2)); // projected thickness
        const edge = 1 - smoothstep(0.96, 1.02, q);
        // exine emission peaks towards the limb (wall seen edge-on), with a reticulate pattern
        const wall = 0.45 * thick + 0.55 * Math.exp(-(((q - 0.93) / 0.08) ** 2));
        out[i] = Math.min(1, out[i] + bright * edge * wall * (1 - reticulum + reticulum * smoothstep(0.35, 0.65, exine[i])));
      });
      const count = Math.round(rng.uniform(30, 90));
      const length = rng.uniform(1.5, 3.5);
      const baseUm = rng.uniform(0.5, 0.9);
      for (let k = 0; k < count; k++) {
        // uniform direction on the sphere; the visible hemisphere and the rim
        const zc = rng.uniform(-1, 1);
        const phi = 2 * Math.PI * rng.next();
        const rxy = Math.sqrt(1 - zc * zc);
        if (zc < -0.25) continue;
        const ux = rxy * Math.cos(phi), uy = rxy * Math.sin(phi);
        const x0 = cx + R * ux, y0 = cy + R * uy;
        const x1 = cx + (R + length) * ux, y1 = cy + (R + length) * uy;
        const segX = x1 - x0, segY = y1 - y0;
        const seg2 = segX * segX + segY * segY;
        forEachPixelNear(g, (x0 + x1) / 2, (y0 + y1) / 2, length / 2 + baseUm + 0.5, (dx, dy, i) => {
          const px = (x0 + x1) / 2 + dx - x0, py = (y0 + y1) / 2 + dy - y0;
          const t = seg2 > 1e-9 ? Math.min(1, Math.max(0, (px * segX + py * segY) / seg2)) : 0;
          const d = Math.hypot(px - t * segX, py - t * segY);
          const w = baseUm * (1 - 0.8 * t); // cone tapering to the tip
          const v = bright * 1.1 * (1 - smoothstep(0.6 * w, w, d));
          if (v > spines[i]) spines[i] = v;
        });
      }
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i] + spines[i]);
}

/** Length (µm) of the overlap of [a0, a1] with [b0, b1]. */
function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** USAF-1951-like bar target: chrome bars (T 0.06) on glass (T 0.92), exact pixel coverage. */
function renderUsaf(out: Float32Array, g: Grid, seed: number): void {
  const glass = 0.92, chrome = 0.06;
  const cover = new Float32Array(out.length);
  const tile = 40;
  forEachTile(g, tile, 0, hashInts(seed, 31), (rng, tx, ty) => {
    const step = Math.floor(rng.next() * 16); // 3 µm · 2^(−step/6): 3 … 0.53 µm
    const w = 3 * 2 ** (-step / 6);
    const len = 5 * w;
    const ex = tx + rng.uniform(1, Math.max(1, tile - 12 * w - 1));
    const ey = ty + rng.uniform(1, Math.max(1, tile - 5 * w - 1));
    const rects: [number, number, number, number][] = [];
    for (let b = 0; b < 3; b++) {
      rects.push([ex, ey + 2 * b * w, ex + len, ey + 2 * b * w + w]); // horizontal bars
      rects.push([ex + 7 * w + 2 * b * w, ey, ex + 7 * w + 2 * b * w + w, ey + len]); // vertical bars
    }
    if (rng.next() < 0.5) {
      // a group-number-like square block below the element
      const sq = rng.uniform(2, 5);
      const sx = ex + rng.uniform(0, 8 * w);
      const sy = ey + len + 1.5;
      if (sy + sq < ty + tile) rects.push([sx, sy, sx + sq, sy + sq]);
    }
    for (const [x0, y0, x1, y1] of rects) {
      const h = g.dxUm / 2;
      forEachPixelNear(g, (x0 + x1) / 2, (y0 + y1) / 2, Math.max(x1 - x0, y1 - y0) / 2 + g.dxUm, (dx, dy, i) => {
        const px = (x0 + x1) / 2 + dx, py = (y0 + y1) / 2 + dy;
        const a = (overlap(px - h, px + h, x0, x1) * overlap(py - h, py + h, y0, y1)) / (g.dxUm * g.dxUm);
        cover[i] = Math.min(1, cover[i] + a);
      });
    }
  });
  for (let i = 0; i < out.length; i++) out[i] = glass + (chrome - glass) * cover[i];
}

/** Woven fabric / sieve mesh in brightfield. */
function renderMesh(out: Float32Array, g: Grid, seed: number): void {
  const rngSeed = hashInts(seed, 41);
  const frac = (k: number) => hashInts(rngSeed, k) / 4294967296;
  const pitch = 6 + 8 * frac(1);
  const width = pitch * (0.4 + 0.25 * frac(2));
  const angle = Math.PI * frac(3);
  const fibril = 0.8 + 0.8 * frac(4);
  const wave = 0.08 * pitch * frac(5);
  const strength = 0.6 + 0.6 * frac(6);
  const c = Math.cos(angle), s = Math.sin(angle);
  const dirt = fractalNoise(g, [25, 8, 3], [1, 0.5, 0.3], hashInts(seed, 42));
  // Thread profile across a family: distance to the nearest thread centre (µm), with the
  // thread narrowing where it passes under the other family (alternating every pitch).
  const thread = (across: number, along: number, family: number): number => {
    const idx = Math.round(across / pitch);
    const centre = idx * pitch + wave * Math.sin((Math.PI * along) / pitch + idx);
    const crossing = Math.round(along / pitch);
    const under = (idx + crossing + family) & 1;
    const nearCrossing = Math.exp(-(((along - crossing * pitch) / (0.35 * pitch)) ** 2));
    const half = (width / 2) * (1 - 0.25 * under * nearCrossing);
    const d = Math.abs(across - centre) / half;
    if (d >= 1) return 0;
    const body = Math.sqrt(1 - d * d);
    const fib = 0.75 + 0.25 * Math.cos((2 * Math.PI * (across - centre)) / fibril + idx);
    return body * fib * (1 - 0.35 * under * nearCrossing);
  };
  for (let y = 0; y < g.height; y++) {
    const py = g.y0Um + y * g.dxUm;
    for (let x = 0; x < g.width; x++) {
      const px = g.x0Um + x * g.dxUm;
      const u = px * c + py * s;
      const v = -px * s + py * c;
      const i = y * g.width + x;
      const a = strength * (thread(v, u, 0) + thread(u, v, 1)) * (0.85 + 0.3 * dirt[i]);
      out[i] = 0.9 * Math.exp(-a);
    }
  }
}
