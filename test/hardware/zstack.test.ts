import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { interpolatePlane, ReplayCamera } from "../../src/hardware/camera/replay.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { ReplayStage } from "../../src/hardware/stage/replay.js";
import { checkPlaneNames, planeOrder } from "../../src/hardware/plane-names.js";
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { seriesShape, tiffSeriesShape } from "../../src/image/tiff-series.js";
import { sampleTiff } from "../helpers.js";

function ramp(width: number, height: number, scale: number, sixteen: boolean): Frame {
  const data = sixteen ? new Uint16Array(width * height) : new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * scale) % (sixteen ? 65536 : 256);
  return { data, width, height, bitDepth: sixteen ? 16 : 8, timestampMs: 0 };
}

async function writeStack(sixteen: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fb-stack-"));
  const writer = new StackWriter(dir);
  await writer.open();
  await writer.addPlane(-1, ramp(8, 4, 1, sixteen));
  await writer.addPlane(1, ramp(8, 4, 3, sixteen));
  await writer.close({ focusUm: 0, pixelSizeUm: 0.345 });
  return dir;
}

describe("z-stack directories", () => {
  it.each([false, true])("round-trips planes losslessly (16-bit: %s)", async (sixteen) => {
    const stack = await readStack(await writeStack(sixteen));
    expect(stack.manifest.focusUm).toBe(0);
    expect(stack.planes.map((p) => p.zUm)).toEqual([-1, 1]);
    expect(stack.planes[1].frame.bitDepth).toBe(sixteen ? 16 : 8);
    expect(Array.from(stack.planes[1].frame.data)).toEqual(Array.from(ramp(8, 4, 3, sixteen).data));
  });

  it("replay camera interpolates between the two nearest planes and follows the stage", async () => {
    const stack = await readStack(await writeStack(true));
    const mid = interpolatePlane(stack, 0);
    expect(mid.data[5]).toBe(Math.round((5 + 15) / 2));
    const stage = new ReplayStage(stack);
    const camera = new ReplayCamera(stack, stage);
    await stage.moveTo(1);
    expect((await camera.grab()).data[5]).toBe(15);
    await expect(stage.moveTo(2)).rejects.toThrow(/outside the recorded stack/);
  });

  it("refuses malformed manifests with a message naming the problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-stack-bad-"));
    await expect(readStack(join(dir, "typo"))).rejects.toThrow(`stack directory ${join(dir, "typo")} does not exist`);
    await expect(readStack(dir)).rejects.toThrow(`cannot read ${join(dir, "stack.json")}: ENOENT`);
    await writeFile(join(dir, "stack.json"), JSON.stringify({ planes: [{ file: "a.png", zUm: "x" }] }));
    await expect(readStack(dir)).rejects.toThrow(/planes/);
    await writeFile(join(dir, "stack.json"), JSON.stringify({ planes: [{ file: "../../etc/passwd", zUm: 0 }, { file: "b.png", zUm: 1 }] }));
    await expect(readStack(dir)).rejects.toThrow(/outside the stack directory/);
    await writeFile(join(dir, "stack.json"), JSON.stringify({ planes: [{ file: "a.png", zUm: 0 }, { file: "b.png", zUm: 1 }] }));
    // the stack is named: eval-af decodes several, one after another
    await expect(readStack(dir)).rejects.toThrow(`${join(dir, "stack.json")}: cannot decode plane a.png`);
    // 32-bit float samples (e.g. a processed stack): refused, not silently clipped to 8 bits
    await writeFile(join(dir, "a.tif"), sampleTiff(4, 2, Float32Array.from({ length: 8 }, (_, i) => i / 8)));
    await writeFile(join(dir, "stack.json"), JSON.stringify({ planes: [{ file: "a.tif", zUm: 0 }, { file: "a.tif", zUm: 1 }] }));
    await expect(readStack(dir)).rejects.toThrow(/cannot decode plane a.tif: float samples are not supported; save .* 8- or 16-bit unsigned/);
  });
});

describe("stack import plane order", () => {
  it("orders a directory's plane names by z: signed numbers by value, others naturally", () => {
    // Another program's signed names: natural order would give z+0000, z+0002, z-0002, z-0004.
    expect(planeOrder(["z+0002.tif", "z-0004.tif", "z+0000.tif", "z-0002.tif"])).toEqual(["z-0004.tif", "z-0002.tif", "z+0000.tif", "z+0002.tif"]);
    expect(planeOrder(["img_-1.5um.png", "img_0.5um.png", "img_-0.5um.png", "img_1.5um.png"])).toEqual(["img_-1.5um.png", "img_-0.5um.png", "img_0.5um.png", "img_1.5um.png"]);
    // A "-" every name has is a separator: plain natural order.
    expect(planeOrder(["scan-10.png", "scan-2.png", "scan-1.png"])).toEqual(["scan-1.png", "scan-2.png", "scan-10.png"]);
    expect(planeOrder(["z10.png", "z2.png", "z1.png"])).toEqual(["z1.png", "z2.png", "z10.png"]);
    // Names that do not all carry a number where they differ keep natural order.
    expect(planeOrder(["a-1.png", "b.png", "a+1.png"])).toEqual(["a-1.png", "a+1.png", "b.png"]);
  });

  const mm = (c: number, z: number): string => `img_channel00${c}_position000_time000000000_z${String(z).padStart(3, "0")}.tif`;
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it("refuses names that would put planes at the wrong z: several series, a missing plane, a glob's order", () => {
    // Micro-Manager, two channels in one folder: each z twice, no number tells the files apart on its own.
    expect(() => checkPlaneNames([...range(5).map((z) => mm(0, z)), ...range(5).map((z) => mm(1, z))], false)).toThrow(/several series/);
    // z003 missing: z004 would be imported at z003's place.
    expect(() => checkPlaneNames([0, 1, 2, 4, 5].map((z) => mm(0, z)), false)).toThrow(/skip \(2 → 4, in steps of 1\): a plane is missing/);
    expect(() => checkPlaneNames(["z_-1.0um.png", "z_-1.5um.png", "z_-2.5um.png", "z_-3.0um.png"], false)).toThrow(/skip \(-2.5 → -1.5, in steps of 0.5\)/);
    // A shell glob's order: z10 before z2.
    expect(() => checkPlaneNames(["z0.png", "z1.png", "z10.png", "z11.png", "z2.png"], true)).toThrow(/not listed in the order of the numbers in their names \(z11.png then z2.png/);
  });

  it("takes names that number one series, in either direction, with clocks and counters beside the z", () => {
    expect(() => checkPlaneNames(range(12).map((z) => mm(0, z)), false)).not.toThrow();
    expect(() => checkPlaneNames(range(12).map((z) => mm(0, 11 - z)), true)).not.toThrow();
    // An acquisition time whose seconds roll over, and a running index: the index is the plane number, the clock is not checked for gaps.
    expect(() => checkPlaneNames(range(12).map((i) => `scan_12-${String(30 + Math.floor((55 + 2 * i) / 60)).padStart(2, "0")}-${String((55 + 2 * i) % 60).padStart(2, "0")}_${i}.png`), true)).not.toThrow();
    // A clock alone that rolls over (…58, 100, 102 as HHMMSS-like numbers) is no missing plane.
    expect(() => checkPlaneNames(["t1256.png", "t1258.png", "t1300.png", "t1302.png"], true)).not.toThrow();
    expect(() => checkPlaneNames(["a.png", "b.png", "c.png"], true)).not.toThrow();
  });
});

describe("TIFF series descriptions", () => {
  it("reads an ImageJ hyperstack's channels and slices from its first page", async () => {
    expect(await tiffSeriesShape(new URL("fixtures/imagej-2c3z.tif", import.meta.url).pathname)).toEqual({ channels: 2, slices: 3, frames: 1, channelsInterleaved: true, writer: "ImageJ" });
  });

  it("reads an OME-XML description's sizes and whether channels interleave", () => {
    const ome = (order: string) => `<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels DimensionOrder="${order}" ID="Pixels:0" SizeC="2" SizeT="1" SizeX="8" SizeY="8" SizeZ="41" Type="uint16"/></Image></OME>`;
    expect(seriesShape(ome("XYCZT"))).toEqual({ channels: 2, slices: 41, frames: 1, channelsInterleaved: true, writer: "OME" });
    expect(seriesShape(ome("XYZCT"))).toMatchObject({ channelsInterleaved: false });
    expect(seriesShape("a camera's own description")).toBeNull();
  });
});
