/**
 * Writes a copy of a z-stack directory with a flaw real recordings have, for `focusbox eval-af`
 * on perturbed copies (docs/benchmarks.md, "Recordings with flaws"):
 * - `flicker AMOUNT`: each plane × (1 + AMOUNT·u), u uniform in [−1, 1] (a lamp on mains);
 * - `bleach AMOUNT`: the i-th of n planes in increasing z × (1 − AMOUNT)^(i/(n−1)) (a
 *   fluorescent sample fading while the series is taken);
 * - `hot AMOUNT`: that fraction of the pixels, the same ones in every plane, raised by 25–100 %
 *   of full scale (a sensor's hot pixels);
 * - `stripes AMOUNT`: each column offset by AMOUNT × the stack's mean × g, g standard normal
 *   per column, the same in every plane (a CMOS sensor's column fixed-pattern noise);
 * - `vignette AMOUNT`: each plane × (1 − AMOUNT·r²), r the distance from the centre over the
 *   half-diagonal (uneven illumination, the same in every plane);
 * - `jpeg AMOUNT`: each 8-bit plane through a JPEG encoder at quality 100·AMOUNT and back (a
 *   camera that saves only JPEG);
 * - `shift AMOUNT`: each plane moved sideways by AMOUNT px per µm of z from the stack's centre,
 *   along x and half that along y, rounded to whole pixels, edges repeated (a focus drive whose
 *   travel is not quite along the optical axis: the field slides as z changes);
 * - `saturate AMOUNT`: every plane × the one gain that puts the brightest AMOUNT of the pixels of
 *   the plane nearest the stack's focus (its middle plane without one) above full scale, clipped
 *   there (an exposure set too long, the same for the whole series);
 * - `prnu AMOUNT`: each pixel × (1 + AMOUNT·g), g standard normal per pixel, the same in every
 *   plane (a sensor's photo-response non-uniformity: pixels that differ in gain);
 * - `dust AMOUNT`: soft dark shadows, the same in every plane, of specks on the camera's window
 *   (they do not move or blur with the focus) covering AMOUNT of the frame (src/optics/dust.ts);
 * - `fpn AMOUNT`: a camera's dark offsets, the same in every plane: a pedestal of 1/16 of full
 *   scale plus each column offset by AMOUNT × full scale × g, g standard normal per column (the
 *   same offsets for every stack of one width and bit depth with the same seed, so a blank
 *   "stack" put through it records the camera's dark frame, `flat-field-frames.ts`).
 * Values are rounded and clipped to the planes' bit depth; u, the hot pixels and g are seeded.
 *
 *   npx tsx scripts/bench/perturb-stack.ts SRC DST flicker|bleach|hot|stripes|vignette|jpeg|shift|saturate|dust|prnu|fpn AMOUNT [SEED]
 */
import sharp from "sharp";
import type { Frame } from "../../src/hardware/camera/types.js";
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { dustTransmission } from "../../src/optics/dust.js";
import { Rng } from "../../src/optics/rng.js";
import { meanOf } from "../../src/focus/stats.js";

const [src, dst, mode, amountArg, seedArg] = process.argv.slice(2);
const amount = Number(amountArg);
const MODES = ["flicker", "bleach", "hot", "stripes", "vignette", "jpeg", "shift", "saturate", "dust", "prnu", "fpn"];
if (!src || !dst || !MODES.includes(mode) || !(amount >= 0 && amount < 1)) throw new Error(`usage: perturb-stack.ts SRC DST ${MODES.join("|")} AMOUNT(0…1) [SEED]`);
const stack = await readStack(src);
const rng = new Rng(Number(seedArg ?? 1));
const { width, height, bitDepth } = stack.planes[0].frame;
const maxValue = 2 ** bitDepth - 1;
const hot = mode === "hot" ? Array.from({ length: Math.round(amount * width * height) }, () => [Math.floor(rng.uniform(0, width * height)), rng.uniform(0.25, 1) * maxValue]) : [];
const meanValue = meanOf(stack.planes.map((p) => meanOf(p.frame.data)));
const columnOffset = Float64Array.from({ length: width }, () =>
  mode === "stripes" ? amount * meanValue * rng.normal() : mode === "fpn" ? maxValue / 16 + amount * maxValue * rng.normal() : 0,
);
const halfDiagonal = Math.hypot(width / 2, height / 2);
const shading = Float64Array.from({ length: width * height }, (_, k) => {
  const r2 = (((k % width) + 0.5 - width / 2) ** 2 + (Math.floor(k / width) + 0.5 - height / 2) ** 2) / halfDiagonal ** 2;
  return mode === "vignette" ? 1 - amount * r2 : mode === "prnu" ? 1 + amount * rng.normal() : 1;
});
if (mode === "dust") dustTransmission(width, height, amount, rng).forEach((t, k) => (shading[k] *= t));
if (mode === "jpeg" && bitDepth !== 8) throw new Error(`jpeg: the planes are ${bitDepth}-bit; JPEG holds 8`);
const exposureGain = mode === "saturate" ? saturatingGain() : 1;
const centreUm = centreOf(stack.planes);
const writer = new StackWriter(dst);
await writer.open();
for (const [i, { zUm, frame }] of stack.planes.entries()) {
  const gain = mode === "flicker" ? 1 + amount * rng.uniform(-1, 1) : mode === "bleach" ? (1 - amount) ** (i / (stack.planes.length - 1)) : exposureGain;
  const values = Float64Array.from(frame.data, (v, k) => v * gain * shading[k] + columnOffset[k % width]);
  for (const [at, extra] of hot) values[at] += extra;
  const data = frame.data.map((_, k) => Math.max(0, Math.min(maxValue, Math.round(values[shifted(k, zUm)]))));
  await writer.addPlane(zUm, mode === "jpeg" ? await throughJpeg({ ...frame, data }, Math.round(100 * amount)) : { ...frame, data });
}
const { planes: _planes, ...meta } = stack.manifest;
await writer.close(meta);

/** `saturate`: the gain that lifts the (1 − amount) quantile of the in-focus plane to full scale. */
function saturatingGain(): number {
  const focusUm = stack.manifest.focusUm ?? centreOf(stack.planes);
  const plane = stack.planes.reduce((a, b) => (Math.abs(b.zUm - focusUm) < Math.abs(a.zUm - focusUm) ? b : a));
  const sorted = Float64Array.from(plane.frame.data).sort();
  const level = sorted[Math.min(sorted.length - 1, Math.floor((1 - amount) * sorted.length))];
  return maxValue / Math.max(1, level);
}

/** Midway between the first and last planes' z (µm). */
function centreOf(planes: readonly { zUm: number }[]): number {
  return (planes[0].zUm + planes[planes.length - 1].zUm) / 2;
}

/** The source index of pixel `k` of the plane at `zUm` (`shift` mode; `k` itself otherwise). */
function shifted(k: number, zUm: number): number {
  if (mode !== "shift") return k;
  const dzUm = zUm - centreUm;
  const x = Math.min(width - 1, Math.max(0, (k % width) - Math.round(amount * dzUm)));
  const y = Math.min(height - 1, Math.max(0, Math.floor(k / width) - Math.round((amount * dzUm) / 2)));
  return y * width + x;
}

/** An 8-bit frame encoded as JPEG at `quality` and decoded again. */
async function throughJpeg(frame: Frame, quality: number): Promise<Frame> {
  const raw = { width: frame.width, height: frame.height, channels: 1 as const };
  const jpeg = await sharp(frame.data, { raw }).jpeg({ quality }).toBuffer();
  const decoded = await sharp(jpeg).toColourspace("b-w").raw().toBuffer();
  return { ...frame, data: new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length) };
}
