import { describe, expect, it } from "vitest";
import { complexFft2d, RealFft2d } from "../../src/optics/fft2d.js";
import { Rng } from "../../src/optics/rng.js";

describe("2-D FFT", () => {
  it("real forward transform matches a direct DFT, and inverts", () => {
    const w = 8, h = 4;
    const rng = new Rng(3);
    const img = Float64Array.from({ length: w * h }, () => rng.next());
    const fft = new RealFft2d(w, h);
    const spec = fft.forward(img);
    for (let ky = 0; ky < h; ky++)
      for (let kx = 0; kx <= w / 2; kx++) {
        let re = 0, im = 0;
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const a = -2 * Math.PI * ((kx * x) / w + (ky * y) / h);
            re += img[y * w + x] * Math.cos(a);
            im += img[y * w + x] * Math.sin(a);
          }
        const i = 2 * (ky * (w / 2 + 1) + kx);
        expect(spec[i]).toBeCloseTo(re, 10);
        expect(spec[i + 1]).toBeCloseTo(im, 10);
      }
    const back = fft.inverse(spec);
    for (let i = 0; i < img.length; i++) expect(back[i]).toBeCloseTo(img[i], 12);
  });

  it("complex transform round-trips", () => {
    const rng = new Rng(4);
    const data = Float64Array.from({ length: 2 * 16 * 16 }, () => rng.next());
    const copy = data.slice();
    complexFft2d(data, 16, false);
    complexFft2d(data, 16, true);
    for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(copy[i], 12);
  });
});
