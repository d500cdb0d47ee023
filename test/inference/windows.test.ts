import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { roiTiles } from "../../src/focus/tiles.js";
import type { Rect } from "../../src/focus/types.js";
import { rng } from "../focus/images.js";
import { tileWindows, windowRegion, writeWindows } from "../../src/inference/windows.js";

function ramp(width: number, height: number): Frame {
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = y * 100 + x;
  return { data, width, height, bitDepth: 16, timestampMs: 0 };
}

describe("DeepFocus windows", () => {
  it("centres the window on the tile and keeps it inside a large frame", () => {
    const f = { width: 1000, height: 800 };
    expect(windowRegion(f, { x: 400, y: 300, width: 100, height: 100 }, 256)).toEqual({ x: 322, y: 222, width: 256, height: 256 });
    expect(windowRegion(f, { x: 0, y: 0, width: 100, height: 100 }, 256)).toEqual({ x: 0, y: 0, width: 256, height: 256 });
    expect(windowRegion(f, { x: 900, y: 700, width: 100, height: 100 }, 256)).toEqual({ x: 744, y: 544, width: 256, height: 256 });
  });

  it("takes the central window of a tile larger than the window, at full resolution", () => {
    const f = ramp(60, 60);
    const out = new Float32Array(8 * 8);
    writeWindows(f, [windowRegion(f, { x: 0, y: 0, width: 60, height: 60 }, 8)], 8, out);
    expect(out[0]).toBe(26 * 100 + 26);
    expect(out[9]).toBe(27 * 100 + 27);
  });

  it("mirrors a frame smaller than the window into the overhang", () => {
    const f = ramp(4, 3);
    const out = new Float32Array(2 * 8 * 8);
    const region = windowRegion(f, { x: 0, y: 0, width: 4, height: 3 }, 8);
    writeWindows(f, [region, region], 8, out);
    expect(out.subarray(64)).toEqual(out.subarray(0, 64));
    const row = (y: number) => Array.from(out.subarray(y * 8, y * 8 + 8));
    // columns -2..5 -> 1 0 0 1 2 3 3 2 ; rows: round((3 - 8) / 2) = -2 → -2..5 -> 1 0 0 1 2 2 1 0
    const cols = [1, 0, 0, 1, 2, 3, 3, 2];
    [1, 0, 0, 1, 2, 2, 1, 0].forEach((sy, y) => expect(row(y)).toEqual(cols.map((x) => sy * 100 + x)));
  });

  /** A noisy flat frame, with hot pixels at `hot` ([x, y]) when given. */
  function noisy(width: number, height: number, hot: [number, number][] = []): Frame {
    const r = rng(3);
    const data = Uint16Array.from({ length: width * height }, () => 1000 + Math.round(20 * r()));
    for (const [x, y] of hot) data[y * width + x] += 3000;
    return { data, width, height, bitDepth: 16, timestampMs: 0 };
  }

  /** The windows of `dirty` hold no hot pixel and differ from `clean`'s only where one was replaced (by a neighbour's value). */
  function expectSpikesGone(clean: Frame, dirty: Frame, regions: Rect[]): void {
    const [a, b] = [clean, dirty].map((frame) => {
      const out = new Float32Array(regions.length * 64 * 64);
      writeWindows(frame, regions, 64, out);
      return out;
    });
    expect(Math.max(...b)).toBeLessThanOrEqual(1020);
    expect(b.filter((v, i) => v !== a[i]).length).toBeLessThan(0.01 * b.length);
  }

  it("removes hot pixels on the frame's edges and corners, where the windows' mirroring would pair them", () => {
    // A frame smaller than the window: the nine windows overlap and are cleaned as one box.
    const hot: [number, number][] = [[0, 0], [0, 20], [50, 0], [99, 30], [40, 59], [99, 59], [25, 25]];
    const f = { width: 100, height: 60 };
    const regions = roiTiles(100, 60, { x: 0, y: 0, width: 1, height: 1, cols: 3, rows: 3 }).map((t) => windowRegion(f, t, 64));
    expectSpikesGone(noisy(100, 60), noisy(100, 60, hot), regions);
  });

  it("removes hot pixels on the border of windows spread over a large frame (cleaned one by one)", () => {
    const regions = [
      { x: 0, y: 0, width: 64, height: 64 },
      { x: 900, y: 700, width: 64, height: 64 },
    ];
    // On the windows' borders and the frame's corner; a pixel outside every window stays out of sight.
    const hot: [number, number][] = [[0, 0], [63, 10], [30, 63], [900, 750], [963, 763], [500, 400]];
    expectSpikesGone(noisy(1000, 800), noisy(1000, 800, hot), regions);
  });

  it("gives a tile no larger than the window the one window windowRegion places", () => {
    const f = { width: 512, height: 384 };
    const tile = { x: 154, y: 115, width: 102, height: 77 };
    expect(tileWindows(f, tile, 256, 4)).toEqual([windowRegion(f, tile, 256)]);
  });

  it("covers a larger tile with windows centred on its sub-tiles, at most maxWindows", () => {
    const f = { width: 2048, height: 1536 };
    // 410 × 307 px: 2 × 2 sub-tiles (x 410–615–820, y 307–461–614), each window centred on one.
    const tile = { x: 410, y: 307, width: 410, height: 307 };
    expect(tileWindows(f, tile, 256, 4)).toEqual([
      { x: 385, y: 256, width: 256, height: 256 },
      { x: 590, y: 256, width: 256, height: 256 },
      { x: 385, y: 410, width: 256, height: 256 },
      { x: 590, y: 410, width: 256, height: 256 },
    ]);
    // 800 × 600 would take 4 × 3; capped at 4 it is 2 × 2, spread over the whole tile.
    const big = tileWindows({ width: 4000, height: 3000 }, { x: 1000, y: 1000, width: 800, height: 600 }, 256, 4);
    expect(big.map((r) => [r.x + 128, r.y + 128])).toEqual([
      [1200, 1150],
      [1600, 1150],
      [1200, 1450],
      [1600, 1450],
    ]);
    expect(tileWindows(f, tile, 256, 1)).toEqual([windowRegion(f, tile, 256)]);
    expect(() => tileWindows(f, tile, 256, 0)).toThrow(RangeError);
  });

  it("keeps every window inside the frame", () => {
    const f = { width: 700, height: 600 };
    for (const r of tileWindows(f, { x: 0, y: 0, width: 700, height: 600 }, 256, 9)) {
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.y).toBeGreaterThanOrEqual(0);
      expect(r.x + r.width).toBeLessThanOrEqual(700);
      expect(r.y + r.height).toBeLessThanOrEqual(600);
    }
  });
});
