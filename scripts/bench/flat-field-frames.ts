/**
 * What a camera would record for a flat field, for the dust benchmark (docs/benchmarks.md, "Dust
 * on the camera window"), in two steps around `perturb-stack.ts … dust`:
 * - `blank DST WIDTH HEIGHT [LEVEL]`: a "stack" of 16 frames of an empty, evenly lit field, 8-bit,
 *   at LEVEL DN (default 150; 0 for frames with no light, a dark frame's) with Gaussian noise of
 *   SD 2 DN (seeded), z = 0…15 (not a z-series, frames in time);
 * - `mean SRC OUT.png`: the mean of a stack's frames as a PNG — `focusbox flat`'s average, from a
 *   stack (put the blank frames through `perturb-stack.ts … dust AMOUNT` with the seed the
 *   sample stacks got, and the flat carries the same shadows).
 *
 *   npx tsx scripts/bench/flat-field-frames.ts blank DST WIDTH HEIGHT [LEVEL]
 *   npx tsx scripts/bench/flat-field-frames.ts mean SRC OUT.png
 */
import { writeFile } from "node:fs/promises";
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { encodePng } from "../../src/image/codec.js";
import { meanFrame } from "../../src/image/flat-field.js";
import { Rng } from "../../src/optics/rng.js";

const [mode, a, b, c, d] = process.argv.slice(2);
if (mode === "blank" && a && Number(b) > 0 && Number(c) > 0 && Number(d ?? 150) >= 0) {
  const [width, height, levelDn] = [Number(b), Number(c), Number(d ?? 150)];
  const rng = new Rng(77);
  const writer = new StackWriter(a);
  await writer.open();
  for (let i = 0; i < 16; i++) {
    const data = Uint8Array.from({ length: width * height }, () => Math.max(0, Math.min(255, Math.round(levelDn + 2 * rng.normal()))));
    await writer.addPlane(i, { width, height, bitDepth: 8, timestampMs: 0, data });
  }
  await writer.close({});
} else if (mode === "mean" && a && b) {
  const stack = await readStack(a);
  await writeFile(b, await encodePng(meanFrame(stack.planes.map((p) => p.frame))));
} else throw new Error("usage: flat-field-frames.ts blank DST WIDTH HEIGHT [LEVEL] | mean SRC OUT.png");
