/**
 * Writes a copy of a z-stack directory with a flaw real recordings have, for `focusbox eval-af`
 * on perturbed copies (docs/benchmarks.md, "Recordings with flaws: flicker, bleaching, hot pixels"):
 * - `flicker AMOUNT`: each plane × (1 + AMOUNT·u), u uniform in [−1, 1] (a lamp on mains);
 * - `bleach AMOUNT`: the i-th of n planes in increasing z × (1 − AMOUNT)^(i/(n−1)) (a
 *   fluorescent sample fading while the series is taken);
 * - `hot AMOUNT`: that fraction of the pixels, the same ones in every plane, raised by 25–100 %
 *   of full scale (a sensor's hot pixels).
 * Values are rounded and clipped to the planes' bit depth; u and the hot pixels are seeded.
 *
 *   npx tsx scripts/bench/perturb-stack.ts SRC DST flicker|bleach|hot AMOUNT [SEED]
 */
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { Rng } from "../../src/optics/rng.js";

const [src, dst, mode, amountArg, seedArg] = process.argv.slice(2);
const amount = Number(amountArg);
if (!src || !dst || !["flicker", "bleach", "hot"].includes(mode) || !(amount >= 0 && amount < 1))
  throw new Error("usage: perturb-stack.ts SRC DST flicker|bleach|hot AMOUNT(0…1) [SEED]");
const stack = await readStack(src);
const rng = new Rng(Number(seedArg ?? 1));
const { width, height, bitDepth } = stack.planes[0].frame;
const maxValue = 2 ** bitDepth - 1;
const hot = mode === "hot" ? Array.from({ length: Math.round(amount * width * height) }, () => [Math.floor(rng.uniform(0, width * height)), rng.uniform(0.25, 1) * maxValue]) : [];
const writer = new StackWriter(dst);
await writer.open();
for (const [i, { zUm, frame }] of stack.planes.entries()) {
  const gain = mode === "flicker" ? 1 + amount * rng.uniform(-1, 1) : mode === "bleach" ? (1 - amount) ** (i / (stack.planes.length - 1)) : 1;
  const values = Float64Array.from(frame.data, (v) => v * gain);
  for (const [at, extra] of hot) values[at] += extra;
  const data = frame.data.map((_, k) => Math.min(maxValue, Math.round(values[k])));
  await writer.addPlane(zUm, { ...frame, data });
}
const { planes: _planes, ...meta } = stack.manifest;
await writer.close(meta);
