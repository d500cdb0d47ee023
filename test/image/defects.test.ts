import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { spikeFreeRegion } from "../../src/image/defects.js";
import { rng } from "../focus/images.js";

const W = 64;
const H = 48;

/** A smooth ramp plus Gaussian noise of SD `noise` (a defocused field). */
function field(noise: number, seed = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: W * H }, (_, i) => {
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    return 500 + 2 * (i % W) + noise * g;
  });
}

/** The whole W × H image, despiked (spikeFreeRegion), and how many pixels changed. */
function despike(img: Float32Array): { out: Float32Array; changed: number } {
  const out = spikeFreeRegion(img, W, H, { x: 0, y: 0, width: W, height: H });
  return { out, changed: out.filter((v, i) => v !== img[i]).length };
}

describe("isolated spikes", () => {
  it("replaces hot and dead pixels by the nearer end of their neighbours' range, and nothing else", () => {
    const clean = field(5);
    const img = Float32Array.from(clean);
    const hot = [10 * W + 10, 20 * W + 40, 30 * W + 5];
    const dead = 40 * W + 50;
    for (const i of hot) img[i] += 300;
    img[dead] = 0;
    const { out, changed } = despike(img);
    const neighbours = (a: Float32Array, i: number) => [i - W - 1, i - W, i - W + 1, i - 1, i + 1, i + W - 1, i + W, i + W + 1].map((j) => a[j]);
    for (const i of hot) expect(out[i]).toBe(Math.max(...neighbours(clean, i)));
    expect(out[dead]).toBe(Math.min(...neighbours(clean, dead)));
    expect(changed).toBe(4);
  });

  it("leaves noise alone: no pixel inside a noisy field is touched, at most one on its edges", () => {
    // On 200 fields of 256 × 256 white noise: 6 interior pixels in a million, 5 edge pixels in ten thousand.
    const edge = (i: number) => i % W === 0 || i % W === W - 1 || i < W || i >= W * (H - 1);
    for (const seed of [1, 2, 3]) {
      const img = field(20, seed);
      const { out, changed } = despike(img);
      expect(out.every((v, i) => v === img[i] || edge(i))).toBe(true);
      expect(changed).toBeLessThanOrEqual(1);
    }
  });

  it("keeps a focused point imaged at the Nyquist pitch (its neighbours carry part of its peak)", () => {
    // Pixel-integrated Airy disc of a point centred on a pixel, sampled at λ/(4·NA): peak 1, edge neighbours ≈ 0.55, corners ≈ 0.33.
    const img = new Float32Array(W * H).fill(100);
    const c = 24 * W + 32;
    img[c] += 1000;
    for (const d of [-1, 1, -W, W]) img[c + d] += 550;
    for (const d of [-W - 1, -W + 1, W - 1, W + 1]) img[c + d] += 330;
    const { out, changed } = despike(img);
    expect(changed).toBe(0);
    expect(out).toEqual(img);
  });

  it("writes one window of a batch (offset) and nothing else", () => {
    const img = new Float32Array(W * H).fill(7);
    img[5 * W + 5] = 900;
    const batch = new Float32Array(3 * 8 * 8).fill(-1);
    spikeFreeRegion(img, W, H, { x: 2, y: 2, width: 8, height: 8 }, batch, 64);
    expect(batch.subarray(64, 128).every((v) => v === 7)).toBe(true);
    expect([...batch.subarray(0, 64), ...batch.subarray(128)].every((v) => v === -1)).toBe(true);
  });
});

describe("spikeFreeRegion", () => {
  /** A flat frame of 100 with a bright 3 × 3 spot (x, y 10–12) and a hot pixel at (20, 5). */
  const frame: Frame = (() => {
    const data = new Uint16Array(W * H).fill(100);
    for (let y = 10; y <= 12; y++) for (let x = 10; x <= 12; x++) data[y * W + x] = 2000;
    data[5 * W + 20] = 4000;
    data[0] = 4000;
    return { data, width: W, height: H, bitDepth: 12, timestampMs: 0 };
  })();

  it("judges the rectangle's edge pixels against their neighbours in the frame", () => {
    // x 12–27, y 5–14: the spot's right column and the hot pixel lie on its left and top edges.
    const rect = { x: 12, y: 5, width: 16, height: 10 };
    const out = spikeFreeRegion(frame.data, W, H, rect);
    expect(out.length).toBe(16 * 10);
    expect(out[8]).toBe(100); // (20, 5): hot pixel replaced
    for (let y = 10; y <= 12; y++) expect(out[(y - 5) * 16]).toBe(2000); // the spot's edge, whose neighbours at x = 11 are bright, kept
    expect(out.filter((v) => v !== 100).length).toBe(3);
  });

  it("cleans a hot pixel in the frame's corner, judged against its mirror images", () => {
    const out = spikeFreeRegion(frame.data, W, H, { x: 0, y: 0, width: 8, height: 8 });
    expect(out.every((v) => v === 100)).toBe(true);
  });
});
