import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { encodePng, readGrayImage } from "../../src/image/codec.js";

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
});
