import { describe, expect, it } from "vitest";
import { interpolatePlane } from "../../src/hardware/camera/replay.js";
import { estimateNoiseLevel } from "../../src/hardware/camera/stack-noise.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import type { ZStack } from "../../src/hardware/zstack.js";
import { Rng } from "../../src/optics/rng.js";

const W = 256, H = 128;

/** An 8-bit frame of `level(x)` with Poisson-Gaussian noise of variance gain·I + read², quantised. */
function noisyFrame(level: (x: number) => number, gainDn: number, readDn: number, seed: number, w = W, h = H): Frame {
  const rng = new Rng(seed);
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = level(x);
      data[y * w + x] = Math.min(255, Math.max(0, Math.round(i + Math.sqrt(gainDn * i + readDn * readDn) * rng.normal())));
    }
  return { data, width: w, height: h, bitDepth: 8, timestampMs: 0 };
}

/** Variance of the frame's horizontal neighbour differences / 2: the white-noise variance on a smooth signal. */
function noiseVariance(f: Frame): number {
  let s = 0, n = 0;
  for (let y = 0; y < H; y++) for (let x = 1; x < W; x++, n++) s += (f.data[y * W + x] - f.data[y * W + x - 1]) ** 2;
  return s / n / 2;
}

describe("replay noise", () => {
  it("estimates the noise level function σ²(I) = gain·I + read² of a stack's frames", () => {
    const ramp = (x: number) => 20 + (210 * x) / (W - 1);
    const nlf = estimateNoiseLevel([noisyFrame(ramp, 0.5, 2, 1), noisyFrame(ramp, 0.5, 2, 2)]);
    expect(nlf.gainDn).toBeGreaterThan(0.45);
    expect(nlf.gainDn).toBeLessThan(0.55);
    // read² 4 DN² plus the 1/12 DN² of quantisation; the intercept is extrapolated from I ≥ 20, so loosely
    expect(nlf.readVarianceDn2).toBeGreaterThan(3);
    expect(nlf.readVarianceDn2).toBeLessThan(7);
  });

  it("estimates large frames quickly from a sub-grid of their pixels", () => {
    const ramp = (x: number) => 20 + (210 * x) / 2047;
    const frames = [noisyFrame(ramp, 0.5, 2, 1, 2048, 2048), noisyFrame(ramp, 0.5, 2, 2, 2048, 2048)];
    const t0 = performance.now();
    const nlf = estimateNoiseLevel(frames);
    // every pixel took ~7 s and > 1 GB here; the sub-grid takes well under a second
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(nlf.gainDn).toBeGreaterThan(0.45);
    expect(nlf.gainDn).toBeLessThan(0.55);
  });

  it("a frame between two planes is as noisy as a recorded one (a plain blend would halve the variance midway), and repeatable", () => {
    const flat = () => 120;
    const planes = [noisyFrame(flat, 0, 3, 1), noisyFrame(flat, 0, 3, 2)];
    const stack: ZStack = { dir: "-", manifest: { planes: [] } as unknown as ZStack["manifest"], planes: planes.map((frame, i) => ({ zUm: 2 * i, frame })) };
    const recorded = noiseVariance(planes[0]);
    const midway = interpolatePlane(stack, 1);
    expect(noiseVariance(midway) / recorded).toBeGreaterThan(0.9);
    expect(noiseVariance(midway) / recorded).toBeLessThan(1.1);
    const [a, b] = planes.map((p) => Array.from(p.data));
    const blend = a.reduce((s, v, i) => s + ((v + b[i]) / 2 - 120) ** 2, 0) / a.length;
    expect(blend / recorded).toBeLessThan(0.6);
    expect(Array.from(interpolatePlane(stack, 1).data)).toEqual(Array.from(midway.data));
    expect(interpolatePlane(stack, 0).data).toBe(planes[0].data);
  });
});
