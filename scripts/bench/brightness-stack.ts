/**
 * Writes a copy of a z-stack directory whose planes are uniformly brighter or dimmer, as a real
 * recording can be: `flicker` multiplies each plane by 1 + AMOUNT·u, u uniform in [−1, 1]
 * (seeded, a lamp on mains); `bleach` by (1 − AMOUNT)^(i/(n−1)) for the i-th of n planes in
 * increasing z (a fluorescent sample fading while the series is taken). Values are rounded and
 * clipped to the planes' bit depth. For `focusbox eval-af` on perturbed copies
 * (docs/benchmarks.md, "Brightness that changes from image to image").
 *
 *   npx tsx scripts/bench/brightness-stack.ts SRC DST flicker|bleach AMOUNT [SEED]
 */
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { Rng } from "../../src/optics/rng.js";

const [src, dst, mode, amountArg, seedArg] = process.argv.slice(2);
const amount = Number(amountArg);
if (!src || !dst || (mode !== "flicker" && mode !== "bleach") || !(amount >= 0 && amount < 1))
  throw new Error("usage: brightness-stack.ts SRC DST flicker|bleach AMOUNT(0…1) [SEED]");
const stack = await readStack(src);
const rng = new Rng(Number(seedArg ?? 1));
const writer = new StackWriter(dst);
await writer.open();
for (const [i, { zUm, frame }] of stack.planes.entries()) {
  const gain = mode === "flicker" ? 1 + amount * rng.uniform(-1, 1) : (1 - amount) ** (i / (stack.planes.length - 1));
  const maxValue = 2 ** frame.bitDepth - 1;
  const data = frame.data.map((v) => Math.min(maxValue, Math.round(v * gain)));
  await writer.addPlane(zUm, { ...frame, data });
}
const { planes: _planes, ...meta } = stack.manifest;
await writer.close(meta);
