import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { encodePng, readGrayImage, readGraySamples } from "../../src/image/codec.js";
import { sampleTiff } from "../helpers.js";

function frame(data: Uint8Array | Uint16Array, bitDepth: number): Frame {
  return { data, width: 64, height: 48, bitDepth, timestampMs: 0 };
}

describe("image codec", () => {
  it("writes 8- and 16-bit frames as single-channel PNGs that decode to the same pixels", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-codec-"));
    const eight = frame(Uint8Array.from({ length: 64 * 48 }, (_, i) => (i * 37) % 256), 8);
    const twelve = frame(Uint16Array.from({ length: 64 * 48 }, (_, i) => (i * 977) % 4096), 12);
    for (const [name, f, depth] of [["a.png", eight, "uchar"], ["b.png", twelve, "ushort"]] as const) {
      const png = await encodePng(f);
      const meta = await sharp(png).metadata();
      // One channel: a stack or a timelapse of 8-bit frames does not take three times the space.
      expect(meta).toMatchObject({ channels: 1, depth, width: 64, height: 48 });
      await writeFile(join(dir, name), png);
      const back = await readGrayImage(join(dir, name));
      expect(back.data).toEqual(f.data);
      expect(back.bitDepth).toBe(f.data instanceof Uint8Array ? 8 : 16);
    }
  });

  it.each([1, 3])("reads a 16-bit image with %i colour channel(s) and alpha as one grey channel", async (channels) => {
    const dir = await mkdtemp(join(tmpdir(), "fb-codec-"));
    const grey = Uint16Array.from({ length: 64 * 48 }, (_, i) => (i * 977) % 65536);
    const pixels = new Uint16Array(64 * 48 * (channels + 1));
    for (let i = 0; i < grey.length; i++) {
      pixels.fill(grey[i], i * (channels + 1), i * (channels + 1) + channels);
      pixels[i * (channels + 1) + channels] = 65535;
    }
    const file = join(dir, `alpha${channels}.png`);
    await sharp(pixels, { raw: { width: 64, height: 48, channels: (channels + 1) as 2 | 4 } }).toColourspace(channels === 1 ? "grey16" : "rgb16").png().toFile(file);
    expect(await sharp(file).metadata()).toMatchObject({ channels: channels + 1, depth: "ushort" });
    const back = await readGrayImage(file);
    expect(back.data.length).toBe(64 * 48);
    expect(Array.from(back.data)).toEqual(Array.from(grey));
  });

  it("reads float and signed 16-bit samples as they are, negative ones included (stack import's one map per series)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-codec-"));
    const signed = Int16Array.from({ length: 64 * 48 }, (_, i) => ((i * 977) % 65536) - 32768);
    const float = Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i) * 1e4);
    for (const [name, samples] of [["s16.tif", signed], ["f32.tif", float]] as const) {
      await writeFile(join(dir, name), sampleTiff(64, 48, samples));
      const read = await readGraySamples(join(dir, name));
      expect(read).toMatchObject({ width: 64, height: 48 });
      expect(Array.from(read.data)).toEqual(Array.from(samples, (v) => Math.fround(v)));
      // Focus scores compare planes: readGrayImage does not rescale such a page on its own.
      await expect(readGrayImage(join(dir, name))).rejects.toThrow(/samples are not supported; save the image with 8- or 16-bit unsigned/);
    }
  });
});
