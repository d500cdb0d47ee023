import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import { METRICS } from "../../src/focus/metrics.js";
import { median } from "../../src/focus/stats.js";
import { roiTiles } from "../../src/focus/tiles.js";
import { texture, toU16 } from "./images.js";

const centre = { x: 0.2, y: 0.2, width: 0.6, height: 0.6, cols: 3, rows: 3 };

describe("roiTiles", () => {
  it("splits the central 60 % of a 100×50 frame into a row-major 3×3 grid", () => {
    const tiles = roiTiles(100, 50, centre);
    expect(tiles.map((t) => [t.x, t.y])).toEqual([
      [20, 10], [40, 10], [60, 10],
      [20, 20], [40, 20], [60, 20],
      [20, 30], [40, 30], [60, 30],
    ]);
    expect(tiles.every((t) => t.width === 20 && t.height === 10)).toBe(true);
  });

  it("covers the ROI's pixel rectangle exactly once", () => {
    const fraction = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 64 }), fc.integer({ min: 8, max: 64 }), fraction, fraction, fraction, fraction, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }),
        (w, h, x0, x1, y0, y1, cols, rows) => {
          const roi = { x: Math.min(x0, x1), width: Math.abs(x1 - x0), y: Math.min(y0, y1), height: Math.abs(y1 - y0), cols, rows };
          const [px0, px1, py0, py1] = [Math.round(roi.x * w), Math.round((roi.x + roi.width) * w), Math.round(roi.y * h), Math.round((roi.y + roi.height) * h)];
          fc.pre(px1 - px0 >= cols && py1 - py0 >= rows);
          const tiles = roiTiles(w, h, roi);
          expect(tiles).toHaveLength(cols * rows);
          const hits = new Uint8Array(w * h);
          for (const t of tiles) for (let y = t.y; y < t.y + t.height; y++) for (let x = t.x; x < t.x + t.width; x++) hits[y * w + x]++;
          const expected = Uint8Array.from({ length: w * h }, (_, i) => (i % w >= px0 && i % w < px1 && Math.floor(i / w) >= py0 && Math.floor(i / w) < py1 ? 1 : 0));
          expect(hits).toEqual(expected);
          for (let i = 1; i < tiles.length; i++) {
            const [p, t] = [tiles[i - 1], tiles[i]];
            expect(i % cols === 0 ? t.y > p.y : t.y === p.y && t.x > p.x).toBe(true);
          }
        }),
      { numRuns: 100 },
    );
  });

  it("rejects grids that do not fit and ROIs outside the frame", () => {
    expect(() => roiTiles(10, 10, { ...centre, cols: 7 })).toThrow(RangeError);
    expect(() => roiTiles(100, 100, { ...centre, x: 0.5 })).toThrow(RangeError);
    expect(() => roiTiles(100, 100, { ...centre, rows: 0 })).toThrow(RangeError);
  });
});

describe("ClassicalScorer", () => {
  it("scores every tile relative to the frame's brightness and aggregates with the mean (the whole-ROI metric)", async () => {
    const w = 90;
    const h = 60;
    const frame = { data: toU16(texture(7, w, h, 100, 4000)), width: w, height: h, bitDepth: 12, timestampMs: 0 };
    const scorer = createClassicalScorer("tenengrad");
    expect(scorer.id).toBe("tenengrad");
    expect(scorer.higherIsSharper).toBe(true);
    const { score, tiles } = await scorer.score(frame, centre);
    const frameMean = frame.data.reduce((a, b) => a + b, 0) / frame.data.length;
    const expected = roiTiles(w, h, centre).map((r) => METRICS.tenengrad.fn(frame.data, w, r) / frameMean ** 2);
    tiles.forEach((t, i) => expect(t).toBeCloseTo(expected[i], 12));
    expect(score).toBeCloseTo(tiles.reduce((a, b) => a + b, 0) / tiles.length, 12);
  });

  it("a frame made uniformly brighter or dimmer (flicker, bleaching, auto-exposure) scores the same with every metric", async () => {
    const w = 96;
    const h = 64;
    const base = texture(11, w, h, 300, 3000);
    const frame = (gain: number) => ({ data: toU16(base.map((v) => v * gain)), width: w, height: h, bitDepth: 16, timestampMs: 0 });
    for (const id of Object.keys(METRICS) as (keyof typeof METRICS)[]) {
      const scorer = createClassicalScorer(id);
      const reference = await scorer.score(frame(1), centre);
      for (const gain of [0.6, 0.95, 1.05, 2]) {
        const { score } = await scorer.score(frame(gain), centre);
        // Rounding to whole counts is the only difference: well under the 10 % a cross-check calls decisive.
        expect(Math.abs(score / reference.score - 1), `${id} ×${gain}`).toBeLessThan(0.01);
      }
    }
  });

  it("with regions (another scorer's tileRegions), reads each tile there, a tile of several regions by their area-weighted mean", async () => {
    // Texture only in the right half; the ROI is one tile on the flat left half.
    const w = 96;
    const h = 48;
    const tex = texture(5, w, h, 300, 3000);
    const data = toU16(tex.map((v, i) => (i % w < w / 2 ? 1000 : v)));
    const frame = { data, width: w, height: h, bitDepth: 12, timestampMs: 0 };
    const left = { x: 0, y: 0, width: 0.5, height: 1, cols: 1, rows: 1 };
    const [leftRect, rightRect] = [0, w / 2].map((x) => ({ x, y: 0, width: w / 2, height: h }));
    const brightness = data.reduce((a, b) => a + b, 0) / data.length;
    const onRight = METRICS.tenengrad.fn(data, w, rightRect) / brightness ** 2;
    expect((await createClassicalScorer("tenengrad").score(frame, left)).score).toBe(0);
    expect((await createClassicalScorer("tenengrad", () => [[rightRect]]).score(frame, left)).score).toBeCloseTo(onRight, 12);
    const both = await createClassicalScorer("tenengrad", () => [[leftRect, rightRect, { x: 0, y: 0, width: 0, height: h }]]).score(frame, left);
    expect(both.tiles).toHaveLength(1);
    expect(both.score).toBeCloseTo(onRight / 2, 12);
  });

  it("a black frame scores 0, not NaN", async () => {
    const { score, tiles } = await createClassicalScorer("tenengrad").score({ data: new Uint16Array(64 * 48), width: 64, height: 48, bitDepth: 12, timestampMs: 0 }, centre);
    expect(score).toBe(0);
    expect(tiles.every((t) => t === 0)).toBe(true);
  });

  it("rejects an unknown id", () => {
    expect(() => createClassicalScorer("nope" as never)).toThrow(RangeError);
  });

  it("median handles odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
