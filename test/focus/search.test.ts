import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { brentMaximize } from "../../src/focus/brent.js";
import { GOLDEN_FRACTION, GOLDEN_RATIO, goldenSectionSearch, goldenStep, goldenUpdate, isBracketing, type GoldenBracket } from "../../src/focus/golden.js";
import { runSearch } from "../../src/focus/search.js";

/** Smooth unimodal shapes with their maximum at zStar. */
const shapes = {
  parabola: (z: number, zStar: number, w: number) => -(((z - zStar) / w) ** 2),
  gaussian: (z: number, zStar: number, w: number) => Math.exp(-(((z - zStar) / w) ** 2) / 2),
  lorentzian: (z: number, zStar: number, w: number) => 1 / (1 + ((z - zStar) / w) ** 2),
  skewed: (z: number, zStar: number, w: number) => -Math.cosh((z - zStar) / w) + 0.3 * Math.tanh((z - zStar) / w) ** 2,
};

const problem = fc.record({
  shape: fc.constantFrom(...(Object.keys(shapes) as (keyof typeof shapes)[])),
  lo: fc.double({ min: -500, max: 500, noNaN: true }),
  span: fc.double({ min: 5, max: 200, noNaN: true }),
  at: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  widthFrac: fc.double({ min: 0.1, max: 1, noNaN: true }),
  toleranceUm: fc.double({ min: 0.01, max: 1, noNaN: true }),
});

describe("brentMaximize", () => {
  it("finds the maximum of smooth unimodal functions within tolerance and the evaluation budget", async () => {
    await fc.assert(
      fc.asyncProperty(problem, async ({ shape, lo, span, at, widthFrac, toleranceUm }) => {
        const zStar = lo + at * span;
        const f = (z: number) => shapes[shape](z, zStar, widthFrac * span);
        const zs: number[] = [];
        const res = await runSearch(brentMaximize(lo, lo + span, { toleranceUm, maxEvaluations: 60 }), async (z) => (zs.push(z), f(z)));
        expect(res.converged).toBe(true);
        expect(Math.abs(res.x - zStar)).toBeLessThanOrEqual(toleranceUm);
        expect(res.evaluations).toBe(zs.length);
        expect(res.evaluations).toBeLessThanOrEqual(60);
        expect(zs.every((z) => z > lo && z < lo + span)).toBe(true);
        expect(res.fx).toBe(Math.max(...zs.map(f)));
      }),
      { numRuns: 200 },
    );
  });

  it("needs few evaluations on a parabola (parabolic steps) and starts at x0", () => {
    const gen = brentMaximize(0, 10, { toleranceUm: 0.01, maxEvaluations: 50, x0: 5 });
    let step = gen.next();
    expect(step.value).toBe(5);
    let n = 0;
    while (!step.done) step = gen.next(-((step.value - 3.3) ** 2)), n++;
    expect(step.value.x).toBeCloseTo(3.3, 2);
    expect(n).toBeLessThanOrEqual(10);
  });

  it("stops at maxEvaluations, unconverged, with the best point so far", async () => {
    const zs: number[] = [];
    const res = await runSearch(brentMaximize(0, 100, { toleranceUm: 1e-6, maxEvaluations: 4 }), (z) => (zs.push(z), -Math.abs(z - 61)));
    expect(zs).toHaveLength(4);
    expect(res.converged).toBe(false);
    expect(res.x).toBe(zs.reduce((p, q) => (Math.abs(q - 61) < Math.abs(p - 61) ? q : p)));
  });

  it("rejects a missing score", () => {
    const gen = brentMaximize(0, 1, { toleranceUm: 0.1, maxEvaluations: 5 });
    gen.next();
    expect(() => gen.next(undefined as never)).toThrow(TypeError);
  });
});

describe("golden-section search", () => {
  it("each step shrinks a golden-proportioned bracket by 1/φ", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.02, max: 0.98, noNaN: true }), (zStar) => {
        const f = (z: number) => -Math.abs(z - zStar);
        let br: GoldenBracket = { a: 0, b: GOLDEN_FRACTION, c: 1, fa: f(0), fb: f(GOLDEN_FRACTION), fc: f(1) };
        fc.pre(isBracketing(br));
        for (let i = 0; i < 12; i++) {
          const width = br.c - br.a;
          const z = goldenStep(br);
          br = goldenUpdate(br, z, f(z));
          expect((br.c - br.a) / width).toBeCloseTo(1 / GOLDEN_RATIO, 9);
          expect(br.a <= zStar && zStar <= br.c).toBe(true);
        }
      }),
    );
  });

  it("expands past the better end when the points do not bracket the optimum", () => {
    const br = { a: 0, b: 1, c: 2, fa: 5, fb: 4, fc: 3 };
    expect(goldenStep(br, "min")).toBeCloseTo(2 + GOLDEN_RATIO, 12);
    expect(goldenStep(br, "max")).toBeCloseTo(-GOLDEN_RATIO, 12);
    expect(goldenUpdate(br, 2 + GOLDEN_RATIO, 3.5, "min")).toEqual({ a: 1, b: 2, c: 2 + GOLDEN_RATIO, fa: 4, fb: 3, fc: 3.5 });
    expect(isBracketing(goldenUpdate(br, 2 + GOLDEN_RATIO, 3.5, "min"), "min")).toBe(true);
  });

  it("goldenSectionSearch finds a minimum within tolerance", async () => {
    const res = await runSearch(goldenSectionSearch(-10, 30, { toleranceUm: 0.05, maxEvaluations: 40, sense: "min" }), (z) => (z - 7.25) ** 2);
    expect(res.converged).toBe(true);
    expect(Math.abs(res.x - 7.25)).toBeLessThanOrEqual(0.05);
    // width 40 → ≤ 0.05 needs ~ log(800)/log(φ) ≈ 14 shrink steps
    expect(res.evaluations).toBeLessThanOrEqual(16);
  });
});
