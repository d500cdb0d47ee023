import { describe, expect, it } from "vitest";
import { radialOtf } from "../../src/optics/otf.js";
import { coneTan, defocusPsf } from "../../src/optics/psf.js";

const objective = { magnification: 10, na: 0.3, immersionIndex: 1, wavelengthUm: 0.55 };

/** Radius (µm) enclosing `fraction` of the PSF energy (wrapped layout, origin at 0). */
function encircledRadiusUm(psf: ReturnType<typeof defocusPsf>, fraction: number): number {
  const { size, data, sampleUm } = psf;
  const samples: [number, number][] = [];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) samples.push([Math.hypot(x < size / 2 ? x : x - size, y < size / 2 ? y : y - size) * sampleUm, data[y * size + x]]);
  samples.sort((a, b) => a[0] - b[0]);
  let sum = 0;
  for (const [r, v] of samples) if ((sum += v) >= fraction) return r;
  return Infinity;
}

describe("defocus PSF", () => {
  it("sums to one", () => {
    for (const z of [0, 3, -25]) {
      const psf = defocusPsf(objective, z);
      expect(psf.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    }
  });

  it("has its first dark ring at 0.61·λ/NA in focus", () => {
    const psf = defocusPsf(objective, 0, 0.04);
    const row = Array.from({ length: psf.size / 2 }, (_, x) => psf.data[x]);
    const i = row.findIndex((v, k) => k > 0 && v < row[k - 1] && v <= row[k + 1]);
    const [a, b, c] = [row[i - 1], row[i], row[i + 1]];
    const ringUm = (i + (a - c) / (2 * (a - 2 * b + c))) * psf.sampleUm;
    expect(ringUm).toBeGreaterThan(0.61 * 0.55 / 0.3 * 0.97);
    expect(ringUm).toBeLessThan(0.61 * 0.55 / 0.3 * 1.03);
  });

  it("blurs linearly with |z|·tan(asin(NA/n)) far from focus, symmetric in ±z", () => {
    for (const z of [60, 120]) {
      const plus = defocusPsf(objective, z);
      const minus = defocusPsf(objective, -z);
      let diff = 0;
      for (let i = 0; i < plus.data.length; i++) diff = Math.max(diff, Math.abs(plus.data[i] - minus.data[i]));
      expect(diff).toBeLessThan(1e-9);
      // A uniform disk of radius R holds half its energy within R/√2.
      const R = z * coneTan(objective);
      expect(encircledRadiusUm(plus, 0.5) / (R / Math.SQRT2)).toBeGreaterThan(0.9);
      expect(encircledRadiusUm(plus, 0.5) / (R / Math.SQRT2)).toBeLessThan(1.1);
    }
    const r60 = encircledRadiusUm(defocusPsf(objective, 60), 0.5);
    const r120 = encircledRadiusUm(defocusPsf(objective, 120), 0.5);
    expect(r120 / r60).toBeGreaterThan(1.9);
    expect(r120 / r60).toBeLessThan(2.1);
  });

  it("gives a radial OTF equal to 1 at zero frequency and ~0 beyond 2·NA/λ", () => {
    const otf = radialOtf(defocusPsf(objective, 1));
    expect(otf.values[0]).toBeCloseTo(1, 8);
    const beyond = Math.ceil(((2 * 0.3) / 0.55) * 1.05 / otf.stepPerUm);
    for (let j = beyond; j < otf.values.length; j++) expect(Math.abs(otf.values[j])).toBeLessThan(2e-3);
  });
});
