import { describe, expect, it } from "vitest";
import { SAMPLE_KINDS } from "../../src/config/schema.js";
import { createSlide } from "../../src/optics/slides.js";

const grid = { x0Um: -40, y0Um: -30, dxUm: 0.345, width: 256, height: 192 };

function render(kind: (typeof SAMPLE_KINDS)[number], seed = 1, g = grid): Float32Array {
  const out = new Float32Array(g.width * g.height);
  createSlide(kind, seed).render(out, g);
  return out;
}

const quantile = (a: Float32Array, q: number) => Float32Array.from(a).sort()[Math.floor(q * (a.length - 1))];

describe("virtual slides", () => {
  it("stay within [0, 1] and are the same whichever window renders them", () => {
    for (const kind of SAMPLE_KINDS) {
      const full = render(kind);
      expect(Math.min(...full)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...full)).toBeLessThanOrEqual(1);
      const sub = render(kind, 1, { ...grid, x0Um: grid.x0Um + 10 * grid.dxUm, width: 100, height: 50 });
      for (let y = 0; y < 50; y++) for (let x = 0; x < 100; x++) expect(sub[y * 100 + x]).toBeCloseTo(full[y * 256 + x + 10], 5);
    }
  });

  it("look like their sample kind", () => {
    const tissue = render("tissue");
    expect(quantile(tissue, 0.9)).toBeGreaterThan(0.7);
    expect(quantile(tissue, 0.1)).toBeLessThan(0.5);
    const nuclei = render("nuclei");
    expect(quantile(nuclei, 0.3)).toBeLessThan(0.05);
    expect(quantile(nuclei, 0.98)).toBeGreaterThan(0.3);
    const cells = render("cells");
    expect(quantile(cells, 0.5)).toBeGreaterThan(0.4);
    expect(quantile(cells, 0.5)).toBeLessThan(0.6);
    expect(quantile(cells, 0.99) - quantile(cells, 0.01)).toBeLessThan(0.4);
    const beads = render("beads", 1);
    expect(beads.filter((v) => v > 0.3).length / beads.length).toBeLessThan(0.02);
    expect(Math.max(...beads)).toBeGreaterThan(0.3);
    expect(quantile(render("beads", 2), 0.5)).toBeGreaterThan(0.8);
    expect(new Set(render("empty")).size).toBe(1);
    expect(render("tissue", 2)).not.toEqual(tissue);
  });
});
