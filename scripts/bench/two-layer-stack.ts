/**
 * Writes a z-stack of a thick sample with two fluorescent layers, for `focusbox eval-af`
 * (docs/benchmarks.md, "Two layers"): plane by plane, the sum of two stacks recorded on the same
 * z grid (each one layer, e.g. `focusbox stack simulate --sample nuclei` with two seeds and two
 * `microscope.focusUm`) less one dark level, clipped to the bit depth. Emission adds, so the sum is
 * what one camera sees of both layers (each plane's noise is the two stacks' noise combined).
 * The manifest is the first stack's: its focusUm is the first layer's.
 *
 *   npx tsx scripts/bench/two-layer-stack.ts LAYER_A LAYER_B DST DARK_DN
 */
import { readStack, StackWriter } from "../../src/hardware/zstack.js";

const [dirA, dirB, dst, darkArg] = process.argv.slice(2);
const darkDn = Number(darkArg);
if (!dirA || !dirB || !dst || !(darkDn >= 0)) throw new Error("usage: two-layer-stack.ts LAYER_A LAYER_B DST DARK_DN");
const [a, b] = [await readStack(dirA), await readStack(dirB)];
const planeB = new Map(b.planes.map((p) => [p.zUm, p.frame]));
const writer = new StackWriter(dst);
await writer.open();
for (const { zUm, frame } of a.planes) {
  const other = planeB.get(zUm);
  if (!other || other.width !== frame.width || other.height !== frame.height || other.bitDepth !== frame.bitDepth)
    throw new Error(`${dirB} has no plane like ${dirA}'s at z = ${zUm} µm (same z, size and bit depth)`);
  const maxValue = 2 ** frame.bitDepth - 1;
  const data = frame.data.map((v, k) => Math.max(0, Math.min(maxValue, v + other.data[k] - darkDn)));
  await writer.addPlane(zUm, { ...frame, data });
}
const { planes: _planes, ...meta } = a.manifest;
await writer.close(meta);
