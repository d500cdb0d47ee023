import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitPeak, isConvex, polyFit } from "../../src/focus/fit.js";
import { fitMoffat, moffat, moffatFwhm } from "../../src/focus/moffat.js";
import { rng } from "./images.js";

const coeff = fc.double({ min: -100, max: 100, noNaN: true });
const xsArb = fc.uniqueArray(fc.integer({ min: -60, max: 60 }), { minLength: 4, maxLength: 20 });

describe("polyFit", () => {
  it("is exact on exact polynomials of degree 1 and 2", () => {
    fc.assert(
      fc.property(xsArb, fc.integer({ min: -500, max: 500 }), coeff, coeff, coeff, (ints, offset, c0, c1, c2) => {
        const xs = ints.map((x) => x / 4 + offset);
        for (const cs of [[c0, c1], [c0, c1, c2]]) {
          const ys = xs.map((x) => cs.reduce((s, c, i) => s + c * x ** i, 0));
          const { coeffs, r2 } = polyFit(xs, ys, (cs.length - 1) as 1 | 2);
          const scale = Math.max(1, ...ys.map(Math.abs));
          xs.forEach((x, i) => expect(Math.abs(coeffs.reduce((s, c, k) => s + c * x ** k, 0) - ys[i])).toBeLessThan(1e-8 * scale));
          expect(Math.abs(coeffs[cs.length - 1] - cs[cs.length - 1])).toBeLessThan(1e-7 * (1 + Math.abs(cs[cs.length - 1])));
          if (Math.max(...ys) - Math.min(...ys) > 1e-6 * scale) expect(r2).toBeCloseTo(1, 9);
        }
      }),
    );
  });

  it("R² by hand: y = 0, 2, 1 at x = 0, 1, 2 fitted by a line", () => {
    // best line y = 0.5 + 0.5x → residuals −0.5, 1, −0.5 (SS 1.5); SS_tot about mean 1 is 2
    const { coeffs, r2 } = polyFit([0, 1, 2], [0, 2, 1], 1);
    expect(coeffs[0]).toBeCloseTo(0.5, 12);
    expect(coeffs[1]).toBeCloseTo(0.5, 12);
    expect(r2).toBeCloseTo(0.25, 12);
  });

  it("rejects too few points", () => {
    expect(() => polyFit([1, 2], [1, 2], 2)).toThrow(RangeError);
  });
});

describe("isConvex", () => {
  it("is true on a parabola with the expected extremum and false on a line", () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0.5, max: 20, noNaN: true }), fc.double({ min: 0.01, max: 10, noNaN: true }), (z1, f, a) => {
        const zs = [z1 - 2 * f, z1, z1 + 2 * f];
        const vertex = z1 + f / 2;
        const up = zs.map((z) => a * (z - vertex) ** 2 + 3);
        expect(isConvex(zs, up)).toBe(true);
        expect(isConvex(zs, up, "maximum")).toBe(false);
        expect(isConvex(zs, up.map((y) => -y), "maximum")).toBe(true);
        expect(isConvex(zs, zs.map((z) => a * z + 1))).toBe(false);
      }),
    );
  });
});

describe("fitPeak", () => {
  it("recovers the centre of a sampled Gaussian exactly and of a parabola with the parabola model", () => {
    const zs = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    expect(fitPeak(zs, zs.map((z) => 10 * Math.exp(-((z - 3.7) ** 2) / 8)))).toBeCloseTo(3.7, 9);
    expect(fitPeak(zs, zs.map((z) => 5 - (z - 4.2) ** 2), { model: "parabola" })).toBeCloseTo(4.2, 9);
    expect(fitPeak([...zs].reverse(), [...zs].reverse().map((z) => 5 - (z - 4.2) ** 2), { model: "parabola" })).toBeCloseTo(4.2, 9);
  });

  it("refuses a maximum at the edge of the sweep", () => {
    const zs = [0, 1, 2, 3, 4];
    expect(fitPeak(zs, [1, 2, 3, 4, 5])).toBeNull();
    expect(fitPeak(zs, [5, 4, 3, 2, 1])).toBeNull();
    expect(fitPeak([0, 1], [1, 2])).toBeNull();
  });
});

describe("Moffat", () => {
  it("FWHM formula matches the profile's half-height points", () => {
    const p = { A: 2, z0: 1, alpha: 3, beta: 2.5, c: 0.5 };
    const half = moffatFwhm(p.alpha, p.beta) / 2;
    expect(moffat(p, p.z0 + half) - p.c).toBeCloseTo(p.A / 2, 12);
    expect(moffatFwhm(1, 1)).toBeCloseTo(2, 12);
  });

  it("recovers known parameters (peak or DeepFocus-like dip) from noisy samples", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.constantFrom(1, -1),
        fc.double({ min: -5, max: 5, noNaN: true }),
        fc.double({ min: 1, max: 8, noNaN: true }),
        fc.double({ min: 0.8, max: 4, noNaN: true }),
        (seed, sign, z0, alpha, beta) => {
          const truth = { A: sign * 10, z0, alpha, beta, c: 3 };
          const fwhm = moffatFwhm(alpha, beta);
          const r = rng(seed);
          const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
          const zs = Array.from({ length: 61 }, (_, i) => z0 + ((i - 30) / 30) * 4 * fwhm);
          const ys = zs.map((z) => moffat(truth, z) + 0.05 * gauss());
          const fit = fitMoffat(zs, ys);
          expect(Math.abs(fit.z0 - z0)).toBeLessThan(0.03 * fwhm);
          expect(Math.abs(fit.fwhmUm - fwhm)).toBeLessThan(0.05 * fwhm);
          expect(Math.abs(fit.A - truth.A)).toBeLessThan(0.5);
          expect(Math.abs(fit.c - truth.c)).toBeLessThan(0.3);
          expect(fit.rmse).toBeLessThan(0.08);
        },
      ),
      { numRuns: 40 },
    );
  });
});
