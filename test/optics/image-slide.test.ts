import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { imageSlide } from "../../src/optics/image-slide.js";

function picture(width: number, height: number, value: (x: number, y: number) => number, bitDepth = 8): Frame {
  const data = bitDepth === 8 ? new Uint8Array(width * height) : new Uint16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { data, width, height, bitDepth, timestampMs: 0 };
}

/** Renders `width × height` grid points spaced `dxUm`, the grid's first point at (x0Um, y0Um). */
function render(slide: ReturnType<typeof imageSlide>, x0Um: number, y0Um: number, dxUm: number, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  slide.render(out, { x0Um, y0Um, dxUm, width, height });
  return out;
}

describe("image slide", () => {
  it("lays the picture centred on the axis at its pixel size, in full-scale units (8 and 16 bit)", () => {
    for (const bitDepth of [8, 16]) {
      const full = (1 << bitDepth) - 1;
      const pic = picture(5, 4, (x, y) => Math.round(((x * 7 + y * 13) % 17) * (full / 16)), bitDepth);
      const pixelUm = 0.4;
      const out = render(imageSlide(pic, pixelUm, "p"), -2 * pixelUm, -1.5 * pixelUm, pixelUm, 5, 4);
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(pic.data[i] / full, 6);
    }
  });

  it("interpolates between pixels and mirrors the picture beyond its edges, so the plane has no seams", () => {
    const pic = picture(4, 2, (x) => [0, 100, 200, 250][x]);
    const slide = imageSlide(pic, 1, "ramp");
    // Pixel centres at x = -1.5, -0.5, 0.5, 1.5 µm; halfway between the last two, then mirrored beyond x = 1.5.
    const row = render(slide, 1, -0.5, 0.5, 6, 1);
    expect(Array.from(row, (v) => Math.round(v * 255))).toEqual([225, 250, 225, 200, 150, 100]);
    const left = render(slide, -2.5, -0.5, 1, 2, 1);
    expect(Array.from(left, (v) => Math.round(v * 255))).toEqual([100, 0]);
  });

  it("averages a finer picture before sampling it, so a pixel-scale pattern does not alias into stripes", () => {
    const checker = picture(64, 64, (x, y) => ((x + y) % 2) * 255);
    const out = render(imageSlide(checker, 0.1, "checker"), -3, -3, 0.2, 30, 30);
    for (const v of out) expect(v).toBeCloseTo(0.5, 6);
  });

  it("refuses a non-positive pixel size", () => {
    expect(() => imageSlide(picture(4, 4, () => 0), 0, "x")).toThrow(/pixel size must be > 0/);
  });
});
