import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { METRICS } from "../../src/focus/metrics.js";
import { CLASSICAL_METRIC_IDS } from "../../src/focus/types.js";
import { boxBlurWrap, texture, toU16, toU8 } from "./images.js";

const whole = (w: number, h: number) => ({ x: 0, y: 0, width: w, height: h });

// 3×3 tile; interior pixel 9; box sum 45 (mean 5).
const A3 = [1, 2, 4, 3, 9, 5, 6, 7, 8];
// 4×3 tile (two interior pixels: 9 and 5).
const B43 = [1, 2, 4, 0, 3, 9, 5, 2, 6, 7, 8, 1];
// 4×4 tile: four Haar blocks [1 3; 5 7], [2 2; 2 2], [4 0; 0 4], [8 8; 0 0].
const C44 = [1, 3, 2, 2, 5, 7, 2, 2, 4, 0, 8, 8, 0, 4, 0, 0];

const hand: [keyof typeof METRICS, number[], number, number, number][] = [
  // (9 − 45/9)² = 16
  ["hpf", A3, 3, 3, 16],
  // Gx = (4+2·5+8) − (1+2·3+6) = 9; Gy = (6+2·7+8) − (1+2·2+4) = 19; 81 + 361
  ["tenengrad", A3, 3, 3, 442],
  // |2·9−3−5| + |2·9−2−7| = 10 + 9
  ["sml", A3, 3, 3, 19],
  // mean 5; rows (I(0)−5)·(I(1)−I(2)): (−4)(2−4) + (−2)(9−5) + (1)(7−8) = 8 − 8 − 1 = −1, over 3 terms
  ["vollath", A3, 3, 3, -1 / 3],
  // one row 0 4 4 0 0, mean 8/5: (−1.6)(4−4) + (2.4)(4−0) + (2.4)(0−0) = 9.6, over 3 terms
  ["vollath", [0, 4, 4, 0, 0], 5, 1, 3.2],
  // mean 5; Σ(I−5)² = 16+9+1+4+16+0+1+4+9 = 60; var 60/9; /5
  ["normvar", A3, 3, 3, 4 / 3],
  // L(9) = 3+5+2+7−36 = −19; L(5) = 9+2+4+8−20 = 3; mean −8; var = 11²
  ["lapv", B43, 4, 3, 121],
  // 1-px interior: a single Laplacian value has variance 0
  ["lapv", A3, 3, 3, 0],
  // blocks |LH|+|HL|+|HH|: (2+4+0) + 0 + (0+0+4) + (0+8+0) = 18, over 4 blocks
  ["ewc", C44, 4, 4, 18 / 4],
  // detail energy 20 + 0 + 16 + 64 = 100; LL² 64 + 16 + 16 + 64 = 160
  ["ws", C44, 4, 4, 100 / 160],
];

describe("classical metrics on hand-computed tiles", () => {
  it.each(hand)("%s", (id, data, w, h, expected) => {
    expect(METRICS[id].fn(Uint8Array.from(data), w, whole(w, h))).toBeCloseTo(expected, 12);
    expect(METRICS[id].fn(Uint16Array.from(data, (v) => v * 257), w, whole(w, h))).toBeCloseTo(expected * 257 ** METRICS[id].scaleExponent, 6);
  });

  it.each(hand)("%s reads only its tile inside a larger frame", (id, data, w, h, expected) => {
    const fw = w + 3;
    const frame = new Uint8Array(fw * (h + 2)).fill(200);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) frame[(y + 1) * fw + x + 2] = data[y * w + x];
    expect(METRICS[id].fn(frame, fw, { x: 2, y: 1, width: w, height: h })).toBeCloseTo(expected, 12);
  });

  it.each(CLASSICAL_METRIC_IDS)("%s is 0 on a flat tile and on tiles too small for it", (id) => {
    expect(METRICS[id].fn(new Uint16Array(36).fill(1234), 6, whole(6, 6))).toBe(0);
    expect(METRICS[id].fn(Uint8Array.from([1, 9, 3, 7]), 4, { x: 0, y: 0, width: 1, height: 1 })).toBe(0);
  });

  it("registry: brightnessInvariant means scale exponent 0", () => {
    expect(Object.keys(METRICS).sort()).toEqual([...CLASSICAL_METRIC_IDS].sort());
    for (const m of Object.values(METRICS)) expect(m.brightnessInvariant).toBe(m.scaleExponent === 0);
    expect(METRICS.ws.brightnessInvariant).toBe(true);
    expect(METRICS.normvar.brightnessInvariant).toBe(false);
  });
});

const textureArb = fc.record({ seed: fc.integer(), w: fc.integer({ min: 12, max: 40 }), h: fc.integer({ min: 12, max: 40 }) });

describe("classical metric properties", () => {
  it("box-blurring a textured image (≥ 24 px a side) lowers every metric", () => {
    // Vollath's F4 (lag-1 minus lag-2 autocorrelation) can rise under blur on windows only a
    // dozen pixels wide, where the unwrapped border columns weigh in (2 in 3 000 random 12–40 px
    // textures did; none of 3 000 at ≥ 24 px). Focus tiles are far larger.
    const largeTextureArb = fc.record({ seed: fc.integer(), w: fc.integer({ min: 24, max: 40 }), h: fc.integer({ min: 24, max: 40 }) });
    fc.assert(
      fc.property(largeTextureArb, ({ seed, w, h }) => {
        const sharp = texture(seed, w, h, 2000, 60000);
        const blurred = toU16(boxBlurWrap(sharp, w, h));
        for (const id of CLASSICAL_METRIC_IDS) {
          const { fn } = METRICS[id];
          expect(fn(blurred, w, whole(w, h)), id).toBeLessThan(fn(toU16(sharp), w, whole(w, h)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("a uniform gain k scales each metric by k^scaleExponent (invariant ones unchanged); 16-bit = 8-bit × 257", () => {
    fc.assert(
      fc.property(textureArb, fc.integer({ min: 2, max: 257 }), ({ seed, w, h }, k) => {
        const img8 = toU8(texture(seed, w, h, 0, 255));
        const scaled = Uint16Array.from(img8, (v) => v * k);
        for (const id of CLASSICAL_METRIC_IDS) {
          const { fn, scaleExponent, brightnessInvariant } = METRICS[id];
          const base = fn(img8, w, whole(w, h));
          const got = fn(scaled, w, whole(w, h));
          expect(Math.abs(got - base * k ** scaleExponent), id).toBeLessThanOrEqual(1e-9 * Math.abs(base * k ** scaleExponent) + 1e-9);
          if (brightnessInvariant) expect(got, id).toBeCloseTo(base, 9);
        }
      }),
      { numRuns: 40 },
    );
  });
});
