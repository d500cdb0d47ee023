import { describe, expect, it } from "vitest";
import { correlation } from "../../src/focus/stats.js";
import { renderDefocused } from "../../src/optics/render.js";

const WIDTH = 256;

/** Noise-free 256×192 frames of a slide at 10×/NA 0.3 (the default objective), at `zUm` of defocus. */
function frame(sample: "unstained" | "tissue", zUm: number): Float64Array {
  const f = renderDefocused({ defocusUm: zUm, sample, seed: 4, camera: { width: WIDTH, height: 192, bitDepth: 16 }, noiseSeed: null });
  return Float64Array.from(f.data);
}

/** Differences of horizontal neighbours: a frame's fine detail. */
const gradient = (a: Float64Array): Float64Array => a.map((v, i) => (i % WIDTH > 0 ? v - a[i - 1] : 0));

/** Mean squared `gradient`: how much fine detail a frame shows. */
const gradientEnergy = (a: Float64Array): number => gradient(a).reduce((s, v) => s + v * v, 0) / a.length;

describe("unstained cells in bright field (weak-object transfer function)", () => {
  it("show least contrast in focus and the same structure with inverted contrast either side", () => {
    const [below, focus, above] = [-6, 0, 6].map((z) => frame("unstained", z));
    expect(gradientEnergy(focus)).toBeLessThan(0.5 * Math.min(gradientEnergy(below), gradientEnergy(above)));
    // Fine detail: a faint absorption beside the phase adds an even part, which coarse structure shows as much as its phase.
    expect(correlation(gradient(below), gradient(above))).toBeLessThan(-0.5);
  });

  it("an absorbing slide blurs alike either side of focus (the control)", () => {
    const [below, focus, above] = [-6, 0, 6].map((z) => frame("tissue", z));
    expect(correlation(gradient(below), gradient(above))).toBeGreaterThan(0.5);
    expect(gradientEnergy(focus)).toBeGreaterThan(2 * Math.max(gradientEnergy(below), gradientEnergy(above)));
  });
});
