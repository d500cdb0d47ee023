import { describe, expect, it } from "vitest";
import { ImageFormation, type IntensityRequest } from "../../src/optics/image-formation.js";
import { renderDefocused } from "../../src/optics/render.js";
import type { Slide } from "../../src/optics/slides.js";

const objective = { magnification: 10, na: 0.3, immersionIndex: 1, wavelengthUm: 0.55 };
const pixelUm = 3.45 / 10;

/** Tenengrad-like gradient energy of columns [x0, x1). */
function gradientEnergy(img: ArrayLike<number>, width: number, height: number, x0 = 1, x1 = width - 1): number {
  let sum = 0;
  for (let y = 1; y < height - 1; y++)
    for (let x = Math.max(1, x0); x < Math.min(width - 1, x1); x++) {
      const i = y * width + x;
      sum += (img[i + 1] - img[i - 1]) ** 2 + (img[i + width] - img[i - width]) ** 2;
    }
  return sum;
}

/** One bright disk (radius rUm, at cxUm, cyUm) on black. */
function diskSlide(cxUm: number, cyUm: number, rUm: number): Slide {
  return {
    id: `disk:${cxUm},${cyUm},${rUm}`,
    render(out, g) {
      for (let j = 0; j < g.height; j++)
        for (let i = 0; i < g.width; i++) out[j * g.width + i] = Math.hypot(g.x0Um + i * g.dxUm - cxUm, g.y0Um + j * g.dxUm - cyUm) <= rUm ? 1 : 0;
    },
  };
}

describe("image formation", () => {
  const base = (slide: Slide, defocusUm: number, extra: Partial<IntensityRequest> = {}): IntensityRequest => ({ slide, objective, cameraPixelUm: 3.45, width: 256, height: 128, defocusUm, ...extra });

  it("conserves energy and shows no wrap-around at large defocus", () => {
    const formation = new ImageFormation();
    const leftEdgeUm = -(255 / 2) * pixelUm;
    // A disk 20 µm left of the frame: at 150 µm defocus its blur (radius ≈ 47 µm) reaches ~27 µm into the frame.
    const img = formation.intensity(base(diskSlide(leftEdgeUm - 20, 0, 5), 150));
    let left = 0, right = 0;
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 20; x++) left = Math.max(left, img[y * 256 + x]);
      for (let x = 140; x < 256; x++) right = Math.max(right, img[y * 256 + x]);
    }
    // Beyond the geometric shadow only faint diffraction tails remain; a wrapped copy would be as bright as `left`.
    expect(left).toBeGreaterThan(1e-2);
    expect(right).toBeLessThan(5e-3 * left);
    // A disk in the frame keeps its energy (sum of intensities) whatever the defocus.
    const inside = diskSlide(0, 0, 3);
    const energy = (z: number) => formation.intensity(base(inside, z)).reduce((a, b) => a + b, 0);
    expect(energy(20) / energy(0)).toBeCloseTo(1, 2);
  });

  it("is translation-equivariant at large defocus (no edge artefacts)", () => {
    const formation = new ImageFormation();
    const shift = 20;
    const a = formation.intensity(base(diskSlide(10, 5, 8), 120, { fieldXUm: 0 }));
    const b = formation.intensity(base(diskSlide(10, 5, 8), 120, { fieldXUm: shift * pixelUm }));
    let err = 0, peak = 0;
    for (let y = 0; y < 128; y++)
      for (let x = 0; x + shift < 256; x++) {
        err = Math.max(err, Math.abs(a[y * 256 + x + shift] - b[y * 256 + x]));
        peak = Math.max(peak, a[y * 256 + x]);
      }
    expect(err).toBeLessThan(1e-3 * peak);
  });

  it("is sharpest in focus and symmetric in ±z", () => {
    const formation = new ImageFormation();
    const g = (z: number) => {
      const frame = renderDefocused({ defocusUm: z, sample: "tissue", camera: { width: 128, height: 128 }, noiseSeed: null, formation });
      return gradientEnergy(frame.data, 128, 128);
    };
    const e0 = g(0), e3 = g(3), em3 = g(-3), e20 = g(20);
    expect(e0).toBeGreaterThan(e3);
    expect(e3).toBeGreaterThan(e20);
    expect(em3 / e3).toBeGreaterThan(0.97);
    expect(em3 / e3).toBeLessThan(1.03);
  });

  it("with a tilt, focuses different columns at different defocus", () => {
    const formation = new ImageFormation();
    const frame = (defocusUm: number) =>
      renderDefocused({ defocusUm, sample: "tissue", camera: { width: 384, height: 96 }, tiltUmPerMm: 400, noiseSeed: null, formation }).data;
    const thirds = (img: ArrayLike<number>) => [0, 1, 2].map((k) => gradientEnergy(img, 384, 96, k * 128, (k + 1) * 128));
    const [l0, m0, r0] = thirds(frame(0));
    expect(m0).toBeGreaterThan(1.5 * l0);
    expect(m0).toBeGreaterThan(1.5 * r0);
    // Defocus +18 µm at the centre: the in-focus line lies 45 µm (≈ 130 px) towards +x.
    const [l1, , r1] = thirds(frame(18));
    expect(r1).toBeGreaterThan(3 * l1);
  });

  it("is deterministic for a seed and varies with it", () => {
    const opts = { defocusUm: 2, sample: "nuclei" as const, camera: { width: 64, height: 64 } };
    expect(renderDefocused(opts).data).toEqual(renderDefocused(opts).data);
    expect(renderDefocused({ ...opts, seed: 2 }).data).not.toEqual(renderDefocused(opts).data);
    expect(renderDefocused({ ...opts, noiseSeed: 9 }).data).not.toEqual(renderDefocused(opts).data);
  });
});
