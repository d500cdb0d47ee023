import { describe, expect, it } from "vitest";
import { linearOracle } from "../../scripts/bench/linear-oracle.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { psnr } from "../../src/refocus/quality.js";
import { Rng } from "../../src/optics/rng.js";

/** The refocus bench's upper bound must be one: exact where nothing is to be undone, far above a blurred input. */
describe("linear oracle (refocus bench upper bound)", () => {
  const width = 96;
  const height = 64;
  const rng = new Rng(7);
  const truth = Float64Array.from({ length: width * height }, (_, i) => {
    const x = i % width;
    const y = Math.floor(i / width);
    return 120 + 60 * Math.sin(x * 0.9) * Math.cos(y * 0.4) + 20 * (rng.next() - 0.5);
  });
  const frame = (data: ArrayLike<number>): Frame => ({ data: Uint8Array.from(data, (v) => Math.round(v)), width, height, bitDepth: 8, timestampMs: 0 });

  it("returns the truth when the input is the truth", () => {
    const out = linearOracle(frame(truth), truth);
    const maxDiff = Math.max(...Array.from(out.data, (v, i) => Math.abs(v - truth[i])));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it("undoes most of a known box blur", () => {
    const blurred = truth.map((_, i) => {
      const x = i % width;
      const y = Math.floor(i / width);
      let s = 0;
      for (let d = -1; d <= 1; d++) s += truth[y * width + Math.min(width - 1, Math.max(0, x + d))];
      return s / 3;
    });
    const input = frame(blurred);
    const out = linearOracle(input, truth);
    expect(out.width).toBe(width);
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(psnr(out.data, truth)).toBeGreaterThan(psnr(input.data, truth) + 3);
  });
});
