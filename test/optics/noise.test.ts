import { describe, expect, it } from "vitest";
import { digitize, type SensorSettings } from "../../src/optics/noise.js";
import { Rng } from "../../src/optics/rng.js";

const sensor: SensorSettings = { bitDepth: 16, exposureUs: 10_000, gain: 1, fullWellElectrons: 8000, readNoiseElectrons: 3 };

function stats(data: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < data.length; i++) m += data[i];
  m /= data.length;
  let v = 0;
  for (let i = 0; i < data.length; i++) v += (data[i] - m) ** 2;
  return { mean: m, variance: v / (data.length - 1) };
}

describe("sensor noise and digitisation", () => {
  it("has shot-noise variance proportional to the mean (plus read noise), in both Poisson regimes", () => {
    const adu = 65535 / 8000;
    for (const level of [0.003, 0.1, 0.4]) {
      const { mean, variance } = stats(digitize(new Float32Array(100_000).fill(level), sensor, new Rng(7)));
      const electrons = level * 8000;
      expect(mean / adu).toBeCloseTo(electrons, 0);
      expect(variance / adu ** 2 / (electrons + 9)).toBeGreaterThan(0.95);
      expect(variance / adu ** 2 / (electrons + 9)).toBeLessThan(1.05);
    }
  });

  it("outputs 8, 12 and 16-bit frames, clipped at full scale", () => {
    const img = new Float32Array([0, 0.5, 1, 1.5]);
    const f12 = digitize(new Float32Array([0, 0.25, 1, 1.5]), { ...sensor, bitDepth: 12 });
    const f8 = digitize(img, { ...sensor, bitDepth: 8 });
    const f16 = digitize(img, sensor);
    expect(f8).toBeInstanceOf(Uint8Array);
    expect(f12).toBeInstanceOf(Uint16Array);
    expect([...f8]).toEqual([0, 128, 255, 255]);
    expect([...f12]).toEqual([0, 1024, 4095, 4095]);
    expect(f16[3]).toBe(65535);
    expect([...digitize(img, { ...sensor, bitDepth: 8, gain: 2 })]).toEqual([0, 255, 255, 255]);
    expect([...digitize(img, { ...sensor, bitDepth: 8, exposureUs: 5000 })]).toEqual([0, 64, 128, 191]);
  });

  it("saturates at the full well even below full ADC scale, and clips noise at 0", () => {
    expect(digitize(new Float32Array([2]), { ...sensor, bitDepth: 8, gain: 0.5 })[0]).toBe(128);
    const dark = digitize(new Float32Array(1000), { ...sensor, readNoiseElectrons: 20 }, new Rng(1));
    expect(Math.min(...dark)).toBe(0);
  });

  it("is reproducible with the same seed", () => {
    const img = new Float32Array(1000).fill(0.3);
    expect(digitize(img, sensor, new Rng(5))).toEqual(digitize(img, sensor, new Rng(5)));
    expect(digitize(img, sensor, new Rng(5))).not.toEqual(digitize(img, sensor, new Rng(6)));
  });
});
