import { describe, expect, it } from "vitest";
import { extractMirrored } from "../../src/image/mirrored.js";
import { axisTiles, rampWeights, TileBlender, tileGrid, tileOrigins } from "../../src/refocus/tiles.js";

describe("refocus tiles", () => {
  it("covers every axis length with equal tiles (multiples of 32) that overlap by at least the ramp", () => {
    for (const extent of [1, 7, 31, 100, 448, 512, 513, 1000, 1944, 2592, 4000]) {
      const o = { maxTile: 512, overlap: 64, pad: 32, multiple: 32 };
      const { size, starts } = axisTiles(extent, o);
      expect(size % 32).toBe(0);
      expect(size).toBeLessThanOrEqual(512);
      expect(starts[0]).toBeLessThanOrEqual(-32);
      expect(starts.at(-1)! + size).toBeGreaterThanOrEqual(extent + 32);
      for (let i = 1; i < starts.length; i++) expect(starts[i - 1] + size - starts[i]).toBeGreaterThanOrEqual(63);
    }
  });

  it("exact tiles keep the FFT size however small the image", () => {
    expect(axisTiles(40, { maxTile: 256, overlap: 96, pad: 32, exact: true }).size).toBe(256);
    const { size, starts } = axisTiles(300, { maxTile: 256, overlap: 96, pad: 32, exact: true });
    expect(size).toBe(256);
    expect(starts.at(-1)! + 256).toBeGreaterThanOrEqual(332);
  });

  it("ramps are symmetric raised cosines and blending identical tiles reproduces them exactly", () => {
    const w = rampWeights(128, 32);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[0]).toBeLessThan(0.01);
    expect(w[64]).toBe(1);
    for (let i = 0; i < 128; i++) expect(w[i]).toBeCloseTo(w[127 - i], 6);
    const width = 301;
    const height = 190;
    const image = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i * 0.37) * 10 + (i % width));
    const grid = tileGrid(width, height, { maxTile: 128, overlap: 32, pad: 16, multiple: 32 });
    const blender = new TileBlender(grid);
    const tile = new Float32Array(grid.x.size * grid.y.size);
    for (const [x0, y0] of tileOrigins(grid)) {
      extractMirrored(image, width, height, x0, y0, grid.x.size, grid.y.size, tile);
      blender.add(tile, x0, y0);
    }
    const out = blender.result();
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - image[i]));
    expect(worst).toBeLessThan(1e-3);
  });
});
