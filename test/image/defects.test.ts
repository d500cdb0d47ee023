import { describe, expect, it } from "vitest";
import { suppressSpikes } from "../../src/image/defects.js";
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

describe("suppressSpikes", () => {
  it("replaces hot and dead pixels by the nearer end of their neighbours' range, and nothing else", () => {
    const clean = field(5);
    const img = Float32Array.from(clean);
    const hot = [10 * W + 10, 20 * W + 40, 30 * W + 5];
    const dead = 40 * W + 50;
    for (const i of hot) img[i] += 300;
    img[dead] = 0;
    const out = Float32Array.from(img);
    expect(suppressSpikes(out, 0, W, H, new Float32Array(W * H))).toBe(4);
    const neighbours = (a: Float32Array, i: number) => [i - W - 1, i - W, i - W + 1, i - 1, i + 1, i + W - 1, i + W, i + W + 1].map((j) => a[j]);
    for (const i of hot) expect(out[i]).toBe(Math.max(...neighbours(clean, i)));
    expect(out[dead]).toBe(Math.min(...neighbours(clean, dead)));
    const changed = out.filter((v, i) => v !== img[i]).length;
    expect(changed).toBe(4);
  });

  it("leaves noise alone: no pixel of a noisy field is touched", () => {
    for (const seed of [1, 2, 3]) {
      const img = field(20, seed);
      expect(suppressSpikes(Float32Array.from(img), 0, W, H, new Float32Array(W * H))).toBe(0);
    }
  });

  it("keeps a focused point imaged at the Nyquist pitch (its neighbours carry part of its peak)", () => {
    // Pixel-integrated Airy disc of a point centred on a pixel, sampled at λ/(4·NA): peak 1, edge neighbours ≈ 0.55, corners ≈ 0.33.
    const img = new Float32Array(W * H).fill(100);
    const c = 24 * W + 32;
    img[c] += 1000;
    for (const d of [-1, 1, -W, W]) img[c + d] += 550;
    for (const d of [-W - 1, -W + 1, W - 1, W + 1]) img[c + d] += 330;
    const out = Float32Array.from(img);
    expect(suppressSpikes(out, 0, W, H, new Float32Array(W * H))).toBe(0);
    expect(out).toEqual(img);
  });

  it("works on one window of a batch (offset) and leaves the window's 1-px border as it is", () => {
    const batch = new Float32Array(3 * W * H).fill(7);
    const base = W * H;
    batch[base + 5 * W + 5] = 900;
    batch[base + 0 * W + 9] = 900; // on the border
    expect(suppressSpikes(batch, base, W, H, new Float32Array(W * H))).toBe(1);
    expect(batch[base + 5 * W + 5]).toBe(7);
    expect(batch[base + 9]).toBe(900);
    expect(batch.subarray(0, base).every((v) => v === 7)).toBe(true);
  });
});
