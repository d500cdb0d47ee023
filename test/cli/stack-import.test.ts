import { access, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleTiff } from "../helpers.js";
import { focusbox } from "./run.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fb-import-"));
});

async function gray16(file: string, page = 0): Promise<Uint16Array> {
  const { data } = await sharp(file, { page }).toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
  return new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

async function flatPng(file: string, value: number, width = 32, height = 24): Promise<void> {
  await sharp(Buffer.alloc(width * height, value), { raw: { width, height, channels: 1 } }).png().toFile(file);
}

describe("focusbox stack import", () => {
  it("turns a 16-bit multi-page TIFF recorded top-down into a stack that scores sharpest at focus, pixels unchanged", async () => {
    const sim = join(dir, "sim");
    const made = await focusbox(["stack", "simulate", "--out", sim, "--from", "-12", "--to", "12", "--step", "4", "--sample", "nuclei", "--seed", "3"]);
    expect(made.code, made.stderr).toBe(0);
    const simPlanes = (JSON.parse(await readFile(join(sim, "stack.json"), "utf8")).planes as { file: string; zUm: number }[]).sort((a, b) => b.zUm - a.zUm);
    // A 12-bit camera's values in 16-bit samples, pages from z = +12 down to −12 µm.
    const pages: Uint16Array[] = [];
    let width = 0, height = 0;
    for (const p of simPlanes) {
      const { data, info } = await sharp(join(sim, p.file)).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
      width = info.width;
      height = info.height;
      pages.push(Uint16Array.from(data, (v) => v * 16 + 64));
    }
    const all = new Uint16Array(width * height * pages.length);
    pages.forEach((p, i) => all.set(p, i * width * height));
    const tiff = join(dir, "series.tif");
    await sharp(all, { raw: { width, height: height * pages.length, channels: 1, pageHeight: height } }).toColourspace("grey16").tiff({ compression: "lzw" }).toFile(tiff);

    const out = join(dir, "imported");
    const args = ["stack", "import", tiff, "--out", out, "--first", "12", "--step", "-4", "--focus", "0", "--pixel-size-um", "0.345", "--magnification", "10", "--na", "0.3"];
    const imp = await focusbox(args);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/imported 7 planes, z 12 … -12 µm/);
    expect(imp.stderr).not.toMatch(/warning/);
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8"));
    expect(manifest.planes.map((p: { zUm: number }) => p.zUm)).toEqual([12, 8, 4, 0, -4, -8, -12]);
    expect(manifest).toMatchObject({ focusUm: 0, pixelSizeUm: 0.345, objective: { magnification: 10, na: 0.3 } });
    const atMinus4 = manifest.planes.find((p: { zUm: number }) => p.zUm === -4).file;
    expect(await gray16(join(out, atMinus4))).toEqual(pages[4]);

    const scored = await focusbox(["score", "--stack", out, "--metric", "tenengrad", "--json"]);
    expect(scored.code, scored.stderr).toBe(0);
    const planes = JSON.parse(scored.stdout).planes as { zUm: number; score: number }[];
    expect(planes.reduce((a, b) => (b.score > a.score ? b : a)).zUm).toBe(0);

    // Never overwrites a stack.
    const again = await focusbox(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/stack\.json exists; write the stack into a new directory/);
    // A focus the planes do not reach (a --first or --step mistyped) is imported, and said.
    const outside = await focusbox(["stack", "import", tiff, "--out", join(dir, "focus-outside"), "--first", "0", "--step", "4", "--focus", "30"]);
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.stderr).toMatch(/warning: --focus 30 µm lies outside the planes \(0 … 24 µm\)/);
  });

  it("takes a directory's planes in natural name order and refuses mismatched or too few planes before writing", async () => {
    const src = join(dir, "planes");
    await mkdir(src);
    for (const [name, value] of [["z10.png", 10], ["z2.png", 2], ["z1.png", 1], ["notes.txt", 0]] as const)
      if (name.endsWith(".png")) await flatPng(join(src, name), value);
    const out = join(dir, "from-dir");
    const imp = await focusbox(["stack", "import", src, "--out", out, "--step", "1.5"]);
    expect(imp.code, imp.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8"));
    expect(manifest.planes.map((p: { zUm: number }) => p.zUm)).toEqual([0, 1.5, 3]);
    const values = await Promise.all(manifest.planes.map(async (p: { file: string }) => (await sharp(join(out, p.file)).raw().toBuffer())[0]));
    expect(values).toEqual([1, 2, 10]);

    // Two channels interleaved, channel fastest (an ImageJ hyperstack's page order): the second.
    const twoChannels = join(dir, "two-channels");
    await mkdir(twoChannels);
    for (const [i, value] of [1, 101, 2, 102, 3, 103].entries()) await flatPng(join(twoChannels, `img${i}.png`), value);
    const second = join(dir, "second-channel");
    const ch = await focusbox(["stack", "import", twoChannels, "--out", second, "--step", "2", "--channels", "2", "--channel", "2"]);
    expect(ch.code, ch.stderr).toBe(0);
    const chPlanes = JSON.parse(await readFile(join(second, "stack.json"), "utf8")).planes as { file: string; zUm: number }[];
    expect(chPlanes.map((p) => p.zUm)).toEqual([0, 2, 4]);
    expect(await Promise.all(chPlanes.map(async (p) => (await sharp(join(second, p.file)).raw().toBuffer())[0]))).toEqual([101, 102, 103]);
    const uneven = await focusbox(["stack", "import", twoChannels, "--out", join(dir, "uneven"), "--step", "1", "--channels", "4"]);
    expect(uneven.code).toBe(2);
    expect(uneven.stderr).toMatch(/6 images do not divide into 4 channels/);

    const mixed = join(dir, "mixed");
    await mkdir(mixed);
    await flatPng(join(mixed, "a.png"), 5);
    await flatPng(join(mixed, "b.png"), 5, 40, 24);
    const bad = await focusbox(["stack", "import", mixed, "--out", join(dir, "mixed-out"), "--step", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/b\.png is 40×24 8-bit, the first plane 32×24 8-bit; every plane must match/);
    await expect(access(join(dir, "mixed-out", "stack.json"))).rejects.toThrow();

    const inPlace = await focusbox(["stack", "import", src, "--out", src, "--step", "1"]);
    expect(inPlace.code).toBe(2);
    expect(inPlace.stderr).toMatch(/holds the source images; import into a directory of its own/);
    const tenths = join(dir, "tenths");
    expect((await focusbox(["stack", "import", src, "--out", tenths, "--step", "0.1", "--first", "0.1"])).code).toBe(0);
    expect(JSON.parse(await readFile(join(tenths, "stack.json"), "utf8")).planes.map((p: { zUm: number }) => p.zUm)).toEqual([0.1, 0.2, 0.3]);

    const again = await focusbox(["stack", "import", out, "--out", join(dir, "again"), "--step", "1"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/from-dir is already a stack directory \(it holds a stack\.json\): use it as it is/);
    await expect(access(join(dir, "again"))).rejects.toThrow();

    const one = await focusbox(["stack", "import", join(mixed, "a.png"), "--out", join(dir, "one"), "--step", "1"]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/a stack needs at least 2 planes/);
    const noImages = join(dir, "no-images");
    await mkdir(noImages);
    await writeFile(join(noImages, "z1.bmp"), "not an image focusbox reads");
    const none = await focusbox(["stack", "import", noImages, "--out", join(dir, "none"), "--step", "1"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/a stack needs at least 2 planes; .*no-images holds 0 \(PNG, TIFF or JPEG images\)/);
    const half = await focusbox(["stack", "import", src, "--out", join(dir, "half"), "--step", "1", "--na", "0.3"]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--magnification and --na together/);
  });

  it("reads an ImageJ hyperstack's channel count from the file: refused without --channels, the channel asked for with it", async () => {
    // 2 channels × 3 slices, 8×8, channel fastest; pixel value 100 × channel index + slice (test/hardware/fixtures, written by tifffile with imagej=True).
    const hyperstack = new URL("../hardware/fixtures/imagej-2c3z.tif", import.meta.url).pathname;
    const plain = await focusbox(["stack", "import", hyperstack, "--out", join(dir, "hyper-plain"), "--step", "1"]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/imagej-2c3z\.tif is an ImageJ series of 2 channels × 3 slices × 1 time point: give --channels 2 --channel K/);
    await expect(access(join(dir, "hyper-plain"))).rejects.toThrow();
    const out = join(dir, "hyper-c2");
    const imp = await focusbox(["stack", "import", hyperstack, "--out", out, "--step", "1", "--channels", "2", "--channel", "2"]);
    expect(imp.code, imp.stderr).toBe(0);
    const planes = JSON.parse(await readFile(join(out, "stack.json"), "utf8")).planes as { file: string }[];
    expect(await Promise.all(planes.map(async (p) => (await gray16(join(out, p.file)))[0]))).toEqual([100, 101, 102]);
  });

  it("imports a directory of colour JPEGs (a camera that saves nothing else) as 8-bit luminance planes", async () => {
    const src = join(dir, "jpegs");
    await mkdir(src);
    for (const [i, grey] of [40, 120, 200].entries())
      await sharp(Buffer.alloc(32 * 24 * 3, grey), { raw: { width: 32, height: 24, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(src, `IMG_00${i + 8}.JPG`));
    const out = join(dir, "from-jpegs");
    const imp = await focusbox(["stack", "import", src, "--out", out, "--step", "2", "--first", "-2"]);
    expect(imp.code, imp.stderr).toBe(0);
    const planes = JSON.parse(await readFile(join(out, "stack.json"), "utf8")).planes as { file: string; zUm: number }[];
    expect(planes.map((p) => p.zUm)).toEqual([-2, 0, 2]);
    for (const [i, p] of planes.entries()) {
      expect(await sharp(join(out, p.file)).metadata()).toMatchObject({ channels: 1, depth: "uchar" });
      const grey = (await sharp(join(out, p.file)).raw().toBuffer())[0];
      expect(Math.abs(grey - [40, 120, 200][i])).toBeLessThanOrEqual(2);
    }
  });

  it("imports a processed 32-bit float series through one linear map for every plane, and refuses NaN before writing", async () => {
    const sim = join(dir, "float-sim");
    const made = await focusbox(["stack", "simulate", "--out", sim, "--from", "-8", "--to", "8", "--step", "4", "--sample", "tissue", "--seed", "5"]);
    expect(made.code, made.stderr).toBe(0);
    const simPlanes = (JSON.parse(await readFile(join(sim, "stack.json"), "utf8")).planes as { file: string; zUm: number }[]).sort((a, b) => a.zUm - b.zUm);
    // Background-subtracted and normalised in ImageJ: float samples, some negative.
    const src = join(dir, "float-series");
    await mkdir(src);
    const sources: Float32Array[] = [];
    let width = 0, height = 0;
    for (const [i, p] of simPlanes.entries()) {
      const { data, info } = await sharp(join(sim, p.file)).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
      ({ width, height } = info);
      const samples = Float32Array.from(data, (v) => v / 255 - 0.3);
      sources.push(samples);
      await writeFile(join(src, `slice_${i + 1}.tif`), sampleTiff(width, height, samples));
    }
    // Raw images where a stack is expected: the error says how to make one.
    const raw = await focusbox(["score", "--stack", src]);
    expect(raw.code).toBe(2);
    expect(raw.stderr).toContain(`${src} is a directory of 5 images, not a stack directory: make one with \`focusbox stack import ${src} --out DIR --step UM [--focus UM]\``);
    const out = join(dir, "from-float");
    const imp = await focusbox(["stack", "import", src, "--out", out, "--first", "-8", "--step", "4", "--focus", "0"]);
    expect(imp.code, imp.stderr).toBe(0);
    // One map: the lowest sample of the whole series → 0, the highest → 65535, every plane through the same line.
    const lo = sources.reduce((m, s) => s.reduce((a, v) => Math.min(a, v), m), Infinity);
    const hi = sources.reduce((m, s) => s.reduce((a, v) => Math.max(a, v), m), -Infinity);
    expect(lo).toBeLessThan(0);
    const said = /32-bit float samples mapped to 16 bit, one map for every plane: DN = \(value \+ ([\d.]+)\) × ([\d.]+)/.exec(imp.stderr);
    expect(said, imp.stderr).not.toBeNull();
    expect(Number(said![1])).toBeCloseTo(-lo, 5);
    expect(Number(said![2]) / (65535 / (hi - lo))).toBeCloseTo(1, 5);
    const planes = JSON.parse(await readFile(join(out, "stack.json"), "utf8")).planes as { file: string; zUm: number }[];
    expect(planes.map((p) => p.zUm)).toEqual([-8, -4, 0, 4, 8]);
    for (const [i, p] of planes.entries()) {
      const dn = await gray16(join(out, p.file));
      const expected = Array.from(sources[i], (v) => Math.round(((v - lo) * 65535) / (hi - lo)));
      expect(dn.reduce((worst, v, k) => Math.max(worst, Math.abs(v - expected[k])), 0)).toBeLessThanOrEqual(1);
    }
    const scored = await focusbox(["score", "--stack", out, "--metric", "tenengrad", "--json"]);
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout).sharpestUm).toBe(0);

    // A NaN anywhere (a masked region) is refused before anything is written.
    const masked = Float32Array.from(sources[0]);
    masked[7] = Number.NaN;
    await writeFile(join(src, "slice_1.tif"), sampleTiff(width, height, masked));
    const nanOut = join(dir, "from-float-nan");
    const bad = await focusbox(["stack", "import", src, "--out", nanOut, "--step", "4"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/slice_1\.tif holds a sample that is not a finite number \(NaN\); replace NaN and infinite values first/);
    await expect(access(nanOut)).rejects.toThrow();
  });

  it("--flat divides every plane by a flat field above the dark level or a dark frame (a float flat from ImageJ too); a flat of another size, a dark frame without a flat, or a float series, is refused before writing", async () => {
    const src = join(dir, "dusty-planes");
    await mkdir(src);
    const [width, height] = [32, 24];
    // Dust shadows (70 % transmission) on every fifth pixel, a dark level of 64, 16-bit planes.
    const transmission = (k: number) => (k % 5 === 0 ? 0.7 : 1);
    const sample = (z: number, k: number) => 1000 + 40 * z + 7 * (k % width);
    for (const z of [1, 2, 3]) {
      const data = Uint16Array.from({ length: width * height }, (_, k) => Math.round(64 + sample(z, k) * transmission(k)));
      await sharp(data, { raw: { width, height, channels: 1 } }).toColourspace("grey16").png().toFile(join(src, `z${z}.png`));
    }
    // The flat as an average saved by ImageJ: 32-bit float.
    const flat = join(dir, "flat.tif");
    await writeFile(flat, sampleTiff(width, height, Float32Array.from({ length: width * height }, (_, k) => 64 + 3000.5 * transmission(k))));
    const out = join(dir, "flat-fielded");
    const imp = await focusbox(["stack", "import", src, "--out", out, "--step", "1", "--first", "1", "--flat", flat, "--dark-level", "64"]);
    expect(imp.code, imp.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8")) as { planes: { file: string; zUm: number }[] };
    const meanTransmission = (4 * 1 + 0.7) / 5; // the gain is the flat over its mean
    for (const p of manifest.planes) {
      const pixels = await gray16(join(out, p.file));
      for (let k = 0; k < pixels.length; k++) expect(Math.abs(pixels[k] - (64 + sample(p.zUm, k) * meanTransmission))).toBeLessThanOrEqual(1.5);
    }
    // A dark frame instead of the dark level: its column stripes (64 ± 9 DN), in the planes and the flat alike, are gone too.
    const stripe = (k: number) => 64 + ((k % width) % 3) * 9 - 9;
    const striped = join(dir, "striped-planes");
    await mkdir(striped);
    for (const z of [1, 2, 3]) {
      const data = Uint16Array.from({ length: width * height }, (_, k) => Math.round(stripe(k) + sample(z, k) * transmission(k)));
      await sharp(data, { raw: { width, height, channels: 1 } }).toColourspace("grey16").png().toFile(join(striped, `z${z}.png`));
    }
    const darkFrame = join(dir, "dark.tif");
    await writeFile(darkFrame, sampleTiff(width, height, Float32Array.from({ length: width * height }, (_, k) => stripe(k))));
    const stripedFlat = join(dir, "striped-flat.tif");
    await writeFile(stripedFlat, sampleTiff(width, height, Float32Array.from({ length: width * height }, (_, k) => stripe(k) + 3000.5 * transmission(k))));
    const darkOut = join(dir, "dark-fielded");
    const withDark = await focusbox(["stack", "import", striped, "--out", darkOut, "--step", "1", "--first", "1", "--flat", stripedFlat, "--dark-frame", darkFrame]);
    expect(withDark.code, withDark.stderr).toBe(0);
    for (const p of manifest.planes) {
      const pixels = await gray16(join(darkOut, p.file));
      for (let k = 0; k < pixels.length; k++) expect(Math.abs(pixels[k] - (64 + sample(p.zUm, k) * meanTransmission))).toBeLessThanOrEqual(1.5);
    }
    const noFlat = await focusbox(["stack", "import", striped, "--out", join(dir, "dark-only"), "--step", "1", "--dark-frame", darkFrame]);
    expect([noFlat.code, noFlat.stderr]).toEqual([2, expect.stringMatching(/--dark-frame needs --flat/)]);
    // A flat of another size: refused, nothing written.
    const small = join(dir, "flat-small.png");
    await flatPng(small, 200, 16, 12);
    const wrong = await focusbox(["stack", "import", src, "--out", join(dir, "flat-wrong"), "--step", "1", "--flat", small]);
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringMatching(/the flat field is 16×12 px, the planes 32×24/)]);
    await expect(access(join(dir, "flat-wrong", "stack.json"))).rejects.toThrow();
    // A float series (mapped to 16 bit on import) is not flat-fielded here.
    const floats = join(dir, "float-planes");
    await mkdir(floats);
    for (const i of [1, 2]) await writeFile(join(floats, `s${i}.tif`), sampleTiff(width, height, new Float32Array(width * height).fill(0.5 * i)));
    const mapped = await focusbox(["stack", "import", floats, "--out", join(dir, "flat-float"), "--step", "1", "--flat", flat]);
    expect([mapped.code, mapped.stderr]).toEqual([2, expect.stringMatching(/a flat field is applied to 8- or 16-bit planes; these are 32-bit float/)]);
  });

  it("leaves no half-written stack when a plane turns out unreadable past its header", async () => {
    const src = join(dir, "truncated");
    await mkdir(src);
    const noise = Buffer.from(Array.from({ length: 64 * 48 }, (_, i) => (i * 2654435761) >>> 24));
    for (const i of [0, 1, 2]) await sharp(noise, { raw: { width: 64, height: 48, channels: 1 } }).png().toFile(join(src, `p${i}.png`));
    // A plane cut off halfway through its pixel data: the header check before writing passes, decoding fails.
    const whole = await readFile(join(src, "p2.png"));
    await writeFile(join(src, "p2.png"), whole.subarray(0, whole.length >> 1));
    const out = join(dir, "truncated-out");
    const imp = await focusbox(["stack", "import", src, "--out", out, "--step", "1"]);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/cannot (decode|read) .*p2\.png/);
    await expect(access(out)).rejects.toThrow();
  });
});
