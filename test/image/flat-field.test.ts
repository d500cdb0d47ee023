import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { encodePng } from "../../src/image/codec.js";
import { flatFielded, meanFrame, readFlatField } from "../../src/image/flat-field.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { tempDir } from "../helpers.js";

const frame = (width: number, height: number, bitDepth: number, value: (k: number) => number): Frame => ({
  width,
  height,
  bitDepth,
  timestampMs: 0,
  data: bitDepth === 8 ? Uint8Array.from({ length: width * height }, (_, k) => value(k)) : Uint16Array.from({ length: width * height }, (_, k) => value(k)),
});

/** A 40×30 flat with a dust shadow (60 % transmission) on the pixels with k % 7 === 0, above a dark level of 10. */
const shadowed = (k: number) => (k % 7 === 0 ? 0.6 : 1);
async function writeFlat(dir: string, bitDepth = 16): Promise<string> {
  const file = join(dir, `flat${bitDepth}.png`);
  await writeFile(file, await encodePng(frame(40, 30, bitDepth, (k) => 10 + (bitDepth === 8 ? 200 : 20000) * shadowed(k))));
  return file;
}

describe("flat field", () => {
  it("divides a frame by the flat above the dark level: dust shadows and their depth are gone, type and bit depth kept", async () => {
    const flat = await readFlatField(await writeFlat(tempDir()), 10);
    expect(flat).toMatchObject({ width: 40, height: 30, darkLevelDn: 10 });
    expect(flat.inverseGain.reduce((s, g) => s + 1 / g, 0) / flat.inverseGain.length).toBeCloseTo(1, 6); // the gain is 1 on average
    // A sample that is a ramp, seen through the same dust, 12-bit in 16-bit words.
    const sample = (k: number) => 500 + (k % 40) * 20;
    const raw = frame(40, 30, 12, (k) => Math.round(10 + sample(k) * shadowed(k)));
    const out = flatFielded(raw, flat);
    expect(out.data).toBeInstanceOf(Uint16Array);
    expect(out.bitDepth).toBe(12);
    const meanGain = 1 / flat.inverseGain[1]; // an unshadowed pixel's gain: the mean is pulled below it by the shadows
    for (let k = 0; k < out.data.length; k++) expect(Math.abs(out.data[k] - (10 + sample(k) / meanGain))).toBeLessThanOrEqual(1.5);
    // Clipped to the bit depth, never wrapped.
    expect(Math.max(...flatFielded(frame(40, 30, 8, () => 255), await readFlatField(await writeFlat(tempDir(), 8))).data)).toBe(255);
  });

  it("refuses a flat of another size than the frames, and one with pixels at or below the dark level", async () => {
    const dir = tempDir();
    const flat = await readFlatField(await writeFlat(dir));
    expect(() => flatFielded(frame(20, 30, 8, () => 1), flat)).toThrow(/flat field is 40×30 px, the frames 20×30/);
    const dark = join(dir, "dark.png");
    await writeFile(dark, await encodePng(frame(40, 30, 8, (k) => (k === 5 ? 3 : 100))));
    await expect(readFlatField(dark, 3)).rejects.toThrow(/1 pixel at or below the dark level \(3 DN\)/);
    await expect(readFlatField(join(dir, "missing.png"))).rejects.toThrow(ConfigError);
  });

  it("a dark frame removes a camera's column stripes with the dust shadows; one of another size, or a flat at or below it, is refused; the config takes a dark level or a dark frame, not both", async () => {
    const dir = tempDir();
    // Fixed-pattern offsets per column (12 ± 6 DN), under the flat and every frame alike.
    const stripe = (k: number) => 12 + ((k % 40) * 7) % 13 - 6;
    const darkFile = join(dir, "dark.png");
    await writeFile(darkFile, await encodePng(frame(40, 30, 16, stripe)));
    const flatFile = join(dir, "flat.png");
    await writeFile(flatFile, await encodePng(frame(40, 30, 16, (k) => stripe(k) + 20000 * shadowed(k))));
    const flat = await readFlatField(flatFile, darkFile);
    expect(flat.darkLevelDn).toBeCloseTo(Array.from({ length: 1200 }, (_, k) => stripe(k)).reduce((a, b) => a + b) / 1200, 6);
    const raw = frame(40, 30, 12, (k) => stripe(k) + 1000 * shadowed(k)); // an even sample, seen through both
    const out = flatFielded(raw, flat);
    const values = Array.from(out.data);
    expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1); // stripes and shadows gone
    // With the mean dark level instead, the stripes stay.
    const levelOnly = flatFielded(raw, await readFlatField(flatFile, flat.darkLevelDn));
    expect(Math.max(...levelOnly.data) - Math.min(...levelOnly.data)).toBeGreaterThan(8);
    const small = join(dir, "small.png");
    await writeFile(small, await encodePng(frame(20, 30, 16, () => 10)));
    await expect(readFlatField(flatFile, small)).rejects.toThrow(/the dark frame .*small\.png is 20×30 px, the flat field 40×30/);
    const bright = join(dir, "bright.png");
    await writeFile(bright, await encodePng(frame(40, 30, 16, (k) => (k === 3 ? 30000 : 10))));
    await expect(readFlatField(flatFile, bright)).rejects.toThrow(/1 pixel at or below the dark frame .*bright\.png/);
    expect(() => parseConfig({ camera: { kind: "simulated", flatField: { file: flatFile, darkLevelDn: 10, darkFile } } })).toThrow(/give darkLevelDn or darkFile, not both/);
  });

  it("averages frames into one (a flat recorded over several frames)", () => {
    const a = frame(4, 2, 8, (k) => k);
    const b = frame(4, 2, 8, (k) => k + 3);
    expect(Array.from(meanFrame([a, b]).data)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]); // (2k + 3) / 2 rounded
    expect(() => meanFrame([a, frame(2, 4, 8, () => 0)])).toThrow(/differ in size/);
  });

  it("camera.flatField: the configured camera's frames come flat-fielded; a flat (or dark frame) of another size stops the start before anything moves", async () => {
    const dir = tempDir();
    const flatFile = join(dir, "flat.png");
    // The simulated camera's default 512×384 frames; a dark square (80 %) in the flat brightens those pixels 1.24×.
    await writeFile(flatFile, await encodePng(frame(512, 384, 8, (k) => (k % 512 < 100 && Math.floor(k / 512) < 100 ? 160 : 200))));
    const grabMean = async (flatField?: { file: string }) => {
      const config = parseConfig({ clock: "virtual", stateDir: dir, camera: { kind: "simulated", flatField } });
      const devices = await createDevices(config, new VirtualClock());
      expect(devices.camera.info.flatField).toBe(flatField?.file); // shown in /api/status
      await devices.start();
      try {
        const f = await devices.camera.grab();
        let inside = 0;
        let outside = 0;
        for (let k = 0; k < f.data.length; k++) (k % 512 < 100 && Math.floor(k / 512) < 100 ? (inside += f.data[k]) : (outside += f.data[k]));
        return { inside: inside / 100 ** 2, outside: outside / (f.data.length - 100 ** 2) };
      } finally {
        await devices.stop();
      }
    };
    const plain = await grabMean();
    const flat = await grabMean({ file: flatFile });
    // The gain is the flat over its mean (197.97): inside 160 / 197.97, outside 200 / 197.97.
    expect(plain.inside).toBeLessThan(180); // room below full scale: no clipping to blur the ratio
    expect(flat.inside / plain.inside).toBeCloseTo(197.97 / 160, 1);
    expect(flat.outside / plain.outside).toBeCloseTo(197.97 / 200, 1);
    const small = join(dir, "small.png");
    await writeFile(small, await encodePng(frame(256, 192, 8, () => 200)));
    const config = parseConfig({ clock: "virtual", stateDir: dir, camera: { kind: "simulated", flatField: { file: small } } });
    const devices = await createDevices(config, new VirtualClock());
    await expect(devices.start()).rejects.toThrow(/camera\.flatField\.file .*small\.png is 256×192 px, the camera's frames 512×384/);
    await devices.stop();
    // The configured dark frame is read with the flat (here one of the wrong size).
    const darkConfig = parseConfig({ clock: "virtual", stateDir: dir, camera: { kind: "simulated", flatField: { file: flatFile, darkFile: small } } });
    const darkDevices = await createDevices(darkConfig, new VirtualClock());
    await expect(darkDevices.start()).rejects.toThrow(/the dark frame .*small\.png is 256×192 px, the flat field 512×384/);
    await darkDevices.stop();
  });
});
