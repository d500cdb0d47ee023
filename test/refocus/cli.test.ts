import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { encodePng } from "../../src/image/codec.js";
import { renderDefocused } from "../../src/optics/render.js";
import { encodeImage } from "../../src/refocus/image-file.js";
import { focusbox } from "../cli/run.js";
import { tempDir } from "../helpers.js";

/** `focusbox refocus IN OUT` end to end, through the built CLI (npm test builds dist/ first). */
describe("focusbox refocus", () => {
  it("refocuses a real 8-bit PNG with the network and a 16-bit TIFF with RL, keeping size and bit depth", async () => {
    const dir = tempDir("focusbox-refocus-");
    mkdirSync(dir, { recursive: true });
    const png = join(dir, "in.png");
    const frame = renderDefocused({ defocusUm: 12, camera: { width: 200, height: 150 } });
    await sharp(await encodePng(frame)).toFile(png);
    const out = join(dir, "out.png");
    const net = await focusbox(["refocus", png, out, "--json"]);
    expect(net.stderr).toBe("");
    expect(net.code).toBe(0);
    expect(JSON.parse(net.stdout)).toMatchObject({ method: "net", width: 200, height: 150, bits: 8 });
    expect(await sharp(out).metadata()).toMatchObject({ width: 200, height: 150, depth: "uchar", channels: 1, format: "png" });

    const tif = join(dir, "in16.tif");
    const deep = renderDefocused({ defocusUm: 12, camera: { width: 160, height: 120, bitDepth: 16 } });
    await writeFile(tif, await encodeImage(deep, "tiff"));
    expect(await sharp(tif).metadata()).toMatchObject({ depth: "ushort", format: "tiff" });
    const outTif = join(dir, "out16.tiff");
    const rl = await focusbox(["refocus", tif, outTif, "--method", "rl"]);
    expect(rl.stderr).toBe("");
    expect(rl.code).toBe(0);
    expect(rl.stdout).toMatch(/160×120 16-bit, rl, \d+ tiles/);
    expect(await sharp(outTif).metadata()).toMatchObject({ width: 160, height: 120, depth: "ushort", format: "tiff" });
  });

  it("takes the optics of an image recorded elsewhere from --magnification, --na and --pixel-size-um", async () => {
    const dir = tempDir("focusbox-refocus-");
    mkdirSync(dir, { recursive: true });
    // 20×/NA 0.45 on 6.45-µm camera pixels (0.3225 µm in the sample), 12 µm out of focus; the config says 10×/NA 0.3, 3.45 µm.
    const png = join(dir, "x20.png");
    await writeFile(png, await encodePng(renderDefocused({ defocusUm: 12, objective: { magnification: 20, na: 0.45 }, camera: { width: 512, height: 512, pixelSizeUm: 6.45 } })));
    const medianUm = (stdout: string) => {
      const zs = (JSON.parse(stdout).defocusUm as number[]).filter(Number.isFinite).sort((a, b) => a - b);
      return zs[zs.length >> 1];
    };
    const flagged = await focusbox(["refocus", png, join(dir, "a.png"), "--method", "wiener", "--magnification", "20", "--na", "0.45", "--pixel-size-um", "0.3225", "--json"]);
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(medianUm(flagged.stdout)).toBeGreaterThan(9);
    expect(medianUm(flagged.stdout)).toBeLessThan(15);
    const configured = await focusbox(["refocus", png, join(dir, "b.png"), "--method", "wiener", "--json"]);
    expect(configured.code, configured.stderr).toBe(0);
    expect(Math.abs(medianUm(configured.stdout) - 12)).toBeGreaterThan(Math.abs(medianUm(flagged.stdout) - 12));
    const half = await focusbox(["refocus", png, join(dir, "c.png"), "--na", "0.45"]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/give --magnification and --na together/);
    const negative = await focusbox(["refocus", png, join(dir, "c.png"), "--pixel-size-um", "-1"]);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/--pixel-size-um must be positive/);
  });

  it("fails with one clear line and exit code 2 on bad input", async () => {
    const dir = tempDir("focusbox-refocus-");
    const missing = await focusbox(["refocus", join(dir, "nope.png"), join(dir, "out.png")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^focusbox: .*nope\.png: no such file\n$/);
    const badExt = await focusbox(["refocus", join(dir, "nope.png"), join(dir, "out.jpg")]);
    expect(badExt.code).toBe(2);
    const png = join(dir, "in.png");
    await writeFile(png, await encodePng(renderDefocused({ defocusUm: 12, camera: { width: 64, height: 48 } })));
    const noDir = await focusbox(["refocus", png, join(dir, "missing", "out.png")]);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/^focusbox: .*out\.png: directory .*missing does not exist or is not writable\n$/);
    const badMethod = await focusbox(["refocus", join(dir, "a.png"), join(dir, "b.png"), "--method", "magic"]);
    expect(badMethod.code).toBe(2);
    expect(badMethod.stderr).toMatch(/--method: "magic"/);
  });
});
