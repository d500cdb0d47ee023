import { describe, expect, it } from "vitest";
import { sharpestPlane } from "../../src/focus/sharpest-plane.js";
import { Rng } from "../../src/optics/rng.js";

const zs = Array.from({ length: 41 }, (_, i) => i - 20);

describe("sharpestPlane", () => {
  it("takes the middle of a flat, noisy floor, not the plane where noise dips lowest", () => {
    // A DeepFocus-like blur reading: floor 6 within ±5 µm of focus at z = 3, rising 0.5 per µm beyond; noise SD 0.05.
    const rng = new Rng(7);
    const planes = zs.map((zUm) => ({ zUm, score: 6 + 0.5 * Math.max(0, Math.abs(zUm - 3) - 5) + 0.05 * rng.normal() }));
    planes[3 + 20 - 4].score = 5.9; // the noise's lowest dip (2 SDs), 4 µm beside focus
    expect(sharpestPlane(planes, false)).toMatchObject({ zUm: 3 });
    expect(sharpestPlane(planes, false)!.planesWithinNoise).toBeGreaterThan(5);
  });

  it("keeps a clear peak's best plane", () => {
    const planes = zs.map((zUm) => ({ zUm, score: Math.exp(-((zUm + 7) ** 2) / 8) + 0.001 * Math.sin(zUm) }));
    expect(sharpestPlane(planes, true)).toEqual({ zUm: -7, planesWithinNoise: 1 });
  });

  it("names no plane when none has a score or all score the same, and the best of too few to tell noise", () => {
    expect(sharpestPlane(zs.map((zUm) => ({ zUm, score: 0 })), true)).toBeNull();
    expect(sharpestPlane(zs.map((zUm) => ({ zUm, score: Number.NaN })), false)).toBeNull();
    expect(sharpestPlane([{ zUm: 0, score: 2 }, { zUm: 1, score: 1 }, { zUm: 2, score: 3 }], false)).toEqual({ zUm: 1, planesWithinNoise: 1 });
  });
});
