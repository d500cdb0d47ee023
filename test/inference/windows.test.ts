import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { windowRegion, writeWindow } from "../../src/inference/windows.js";

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
    writeWindow(f, { x: 0, y: 0, width: 60, height: 60 }, 8, out, 0);
    expect(out[0]).toBe(26 * 100 + 26);
    expect(out[9]).toBe(27 * 100 + 27);
  });

  it("mirrors a frame smaller than the window into the overhang", () => {
    const f = ramp(4, 3);
    const out = new Float32Array(8 * 8 + 2);
    writeWindow(f, { x: 0, y: 0, width: 4, height: 3 }, 8, out, 2);
    const row = (y: number) => Array.from(out.subarray(2 + y * 8, 2 + y * 8 + 8));
    // columns -2..5 -> 1 0 0 1 2 3 3 2 ; rows: round((3 - 8) / 2) = -2 → -2..5 -> 1 0 0 1 2 2 1 0
    const cols = [1, 0, 0, 1, 2, 3, 3, 2];
    [1, 0, 0, 1, 2, 2, 1, 0].forEach((sy, y) => expect(row(y)).toEqual(cols.map((x) => sy * 100 + x)));
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(0);
  });
});
