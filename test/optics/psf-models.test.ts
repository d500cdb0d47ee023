import { describe, expect, it } from "vitest";
import { createHeldoutSlide, HELDOUT_TEXTURES } from "../../src/optics/heldout-slides.js";
import { coneTan } from "../../src/optics/psf.js";
import {
  besselJ0,
  bornWolfPsfModel,
  bornWolfRadialUm,
  gaussianPsfModel,
  gaussianSigma0Um,
  gaussianSigmaUm,
  PSF_MODELS,
  PsfImaging,
  type PsfModel,
} from "../../src/optics/psf-models.js";

const objective = { magnification: 10, na: 0.3, immersionIndex: 1, wavelengthUm: 0.55 };
const airyZeroUm = (3.831705970207512 / (2 * Math.PI)) * (objective.wavelengthUm / objective.na); // 0.61·λ/NA

/** Second moment per axis (µm²) of a wrapped sampled PSF. */
function varianceUm2(psf: ReturnType<PsfModel["psf"]>): number {
  const { size, data, sampleUm } = psf;
  let m = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const dx = (x < size / 2 ? x : x - size) * sampleUm;
      m += data[y * size + x] * dx * dx;
    }
  return m;
}

describe("held-out PSF models", () => {
  it("J0 matches reference values", () => {
    expect(besselJ0(0)).toBeCloseTo(1, 8);
    expect(besselJ0(1)).toBeCloseTo(0.7651976865579666, 7);
    expect(besselJ0(2.404825557695773)).toBeCloseTo(0, 7);
    expect(besselJ0(10)).toBeCloseTo(-0.2459357644513483, 7);
    expect(besselJ0(-30)).toBeCloseTo(-0.08636798358104, 7);
  });

  it("sum to one", () => {
    for (const model of [gaussianPsfModel, bornWolfPsfModel])
      for (const z of [0, 7, -40, 100]) {
        const psf = model.psf(objective, z);
        expect(psf.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      }
  });

  it("Born–Wolf in focus is the Airy pattern: first zero at 0.61·λ/NA", () => {
    // the radial integral: 2J1(v)/v squared, dark ring where J1 vanishes
    const rs = Array.from({ length: 401 }, (_, k) => 0.8 + k * 0.002);
    const profile = bornWolfRadialUm(objective, 0, rs);
    const k = profile.indexOf(Math.min(...profile));
    expect(Math.abs(rs[k] - airyZeroUm)).toBeLessThan(0.003);
    expect(profile[k]).toBeLessThan(1e-6);
    expect(bornWolfRadialUm(objective, 0, [0])[0]).toBeCloseTo(1, 6);
    // the sampled PSF too: sub-sample parabola through the first minimum along a row
    const psf = bornWolfPsfModel.psf(objective, 0, 0.04);
    const row = Array.from({ length: psf.size / 2 }, (_, x) => psf.data[x]);
    const i = row.findIndex((v, j) => j > 0 && v < row[j - 1] && v <= row[j + 1]);
    const [a, b, c] = [row[i - 1], row[i], row[i + 1]];
    const ringUm = (i + (a - c) / (2 * (a - 2 * b + c))) * psf.sampleUm;
    expect(ringUm / airyZeroUm).toBeGreaterThan(0.98);
    expect(ringUm / airyZeroUm).toBeLessThan(1.02);
  });

  it("Born–Wolf conserves energy with defocus and spreads to the paraxial geometric radius", () => {
    for (const z of [40, 80]) {
      const psf = bornWolfPsfModel.psf(objective, z);
      // uniform disc of radius R = z·NA/n: per-axis variance R²/4
      const R = (z * objective.na) / objective.immersionIndex;
      expect(Math.sqrt(varianceUm2(psf)) / (R / 2)).toBeGreaterThan(0.95);
      expect(Math.sqrt(varianceUm2(psf)) / (R / 2)).toBeLessThan(1.1);
    }
    // the unnormalised on-axis intensity falls with defocus: I(u, 0) = sinc²(u/4)
    const u = (2 * Math.PI * objective.na ** 2 * 3) / objective.wavelengthUm;
    expect(bornWolfRadialUm(objective, 3, [0])[0]).toBeCloseTo(Math.sin(u / 4) ** 2 / (u / 4) ** 2, 5);
  });

  it("Gaussian σ grows with |z| from the diffraction floor to the geometric cone", () => {
    expect(gaussianSigmaUm(objective, 0)).toBeCloseTo(gaussianSigma0Um(objective), 12);
    expect(gaussianSigma0Um(objective)).toBeCloseTo((0.21 * 0.55) / 0.3, 12);
    let prev = 0;
    for (const z of [0, 1, 2, 5, 10, 20, 50, 100]) {
      const s = gaussianSigmaUm(objective, z);
      expect(s).toBeGreaterThan(prev);
      prev = s;
    }
    expect(gaussianSigmaUm(objective, 100) / ((100 * coneTan(objective)) / 2)).toBeCloseTo(1, 3);
    // the sampled PSF has that σ
    for (const z of [0, 20, 60]) {
      const psf = gaussianPsfModel.psf(objective, z);
      expect(Math.sqrt(varianceUm2(psf)) / gaussianSigmaUm(objective, z)).toBeCloseTo(1, 2);
    }
  });

  it("are symmetric in ±z and radially symmetric", () => {
    for (const model of [gaussianPsfModel, bornWolfPsfModel])
      for (const z of [5, 30]) {
        const plus = model.psf(objective, z);
        const minus = model.psf(objective, -z);
        const { size, data } = plus;
        let diff = 0, asym = 0;
        for (let i = 0; i < data.length; i++) diff = Math.max(diff, Math.abs(data[i] - minus.data[i]));
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            asym = Math.max(asym, Math.abs(data[y * size + x] - data[x * size + y])); // transpose
            asym = Math.max(asym, Math.abs(data[y * size + x] - data[y * size + ((size - x) % size)])); // mirror
          }
        expect(diff).toBeLessThan(1e-12);
        expect(asym).toBeLessThan(1e-12);
      }
  });

  it("image a slide: conserves mean brightness, blur lowers contrast monotonically", () => {
    const imaging = new PsfImaging({ objective, cameraPixelUm: 3.45, width: 128, height: 96, maxDefocusUm: 30 });
    const spectrum = imaging.objectSpectrum(createHeldoutSlide("usaf", 3));
    for (const model of [PSF_MODELS.gaussian, PSF_MODELS["born-wolf"]]) {
      const sds: number[] = [];
      const means: number[] = [];
      for (const z of [0, 10, 30]) {
        const img = imaging.intensity(spectrum, imaging.otf(model, z));
        const m = img.reduce((a, b) => a + b, 0) / img.length;
        means.push(m);
        sds.push(Math.sqrt(img.reduce((a, b) => a + (b - m) ** 2, 0) / img.length));
      }
      expect(sds[0]).toBeGreaterThan(sds[1]);
      expect(sds[1]).toBeGreaterThan(sds[2]);
      for (const m of means) expect(Math.abs(m - means[0])).toBeLessThan(0.03);
    }
  });
});

describe("held-out slides", () => {
  it("are deterministic, seeded, in [0, 1] and textured", () => {
    const grid = { x0Um: -60, y0Um: -50, dxUm: 0.5, width: 240, height: 200 };
    for (const kind of HELDOUT_TEXTURES) {
      const a = new Float32Array(grid.width * grid.height);
      const b = new Float32Array(a.length);
      const c = new Float32Array(a.length);
      createHeldoutSlide(kind, 5).render(a, grid);
      createHeldoutSlide(kind, 5).render(b, grid);
      createHeldoutSlide(kind, 6).render(c, grid);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(a.some((v, i) => v !== c[i])).toBe(true);
      expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a)).toBeLessThanOrEqual(1);
      expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(0.1);
    }
  });

  it("render the same object whatever window is asked for", () => {
    const big = { x0Um: 0, y0Um: 0, dxUm: 0.5, width: 200, height: 200 };
    const sub = { x0Um: 25, y0Um: 40, dxUm: 0.5, width: 50, height: 60 };
    for (const kind of HELDOUT_TEXTURES) {
      const a = new Float32Array(big.width * big.height);
      const b = new Float32Array(sub.width * sub.height);
      createHeldoutSlide(kind, 2).render(a, big);
      createHeldoutSlide(kind, 2).render(b, sub);
      let diff = 0;
      for (let y = 0; y < sub.height; y++) for (let x = 0; x < sub.width; x++) diff = Math.max(diff, Math.abs(b[y * sub.width + x] - a[(y + 80) * big.width + x + 50]));
      expect(diff).toBeLessThan(1e-5);
    }
  });
});
