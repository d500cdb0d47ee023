import { ConfigError } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import { meanOf } from "../focus/stats.js";
import { imageHeader, isCameraSampleFormat, readGrayImage, readGraySamples } from "./codec.js";

/**
 * A flat field: the camera's relative response across the frame — vignetting, and the shadows
 * of dust on the camera window or on a lens near the camera, which stay where they are and
 * sharp at any focus. DeepFocus reads such shadows as detail: far from focus, where the
 * sample's own contrast is gone, they dominate its windows, and a calibration recorded with
 * them is not the optics' (docs/benchmarks.md, "Dust on the camera window").
 *
 * The gain is the flat image less the camera's dark level, divided by its mean (1 on average);
 * a frame is corrected as dark + (raw − dark) / gain. With a dark frame (the mean of frames
 * recorded with no light) the dark is per pixel, which also removes a camera's fixed-pattern
 * offsets (column stripes); corrected frames then sit on the dark frame's mean.
 */
export interface FlatField {
  width: number;
  height: number;
  /** Dark level (camera counts) the flat and the frames are taken above; with `darkDn`, its mean. */
  darkLevelDn: number;
  /** The dark frame per pixel (counts, row-major), when one was given. */
  darkDn?: Float32Array;
  /** 1 / gain per pixel, row-major (a product per pixel is cheaper than a quotient: 15 against 43 ms on 3 MP here). */
  inverseGain: Float32Array;
}

/**
 * Reads a flat-field image: grayscale 8- or 16-bit PNG or TIFF, or a 32-bit/float TIFF (an
 * average made in ImageJ or Fiji), of an empty field at the exposure the frames are taken with.
 * `dark` is the camera's dark level (counts), or a dark-frame image of the same kinds and size.
 * @throws ConfigError naming the file when it cannot be read, when a dark frame's size differs,
 *   or when the flat has pixels at or below the dark.
 */
export async function readFlatField(file: string, dark: number | string = 0): Promise<FlatField> {
  const { data, width, height } = await readImage(file, "flat field");
  const darkDn = typeof dark === "string" ? await readDarkFrame(dark, width, height) : undefined;
  const darkLevelDn = darkDn ? meanOf(darkDn) : Number(dark);
  const darkAt = darkDn ? (k: number) => darkDn[k] : () => darkLevelDn;
  let sum = 0;
  let atOrBelow = 0;
  for (let k = 0; k < data.length; k++) {
    const v = data[k] - darkAt(k);
    if (!(v > 0)) atOrBelow++;
    sum += v;
  }
  const what = darkDn ? `the dark frame ${dark}` : `the dark level (${dark} DN)`;
  if (atOrBelow > 0)
    throw new ConfigError(
      `the flat field ${file} has ${atOrBelow} pixel${atOrBelow === 1 ? "" : "s"} at or below ${what}: record it on an empty, evenly lit field at the frames' exposure`,
    );
  const mean = sum / data.length;
  const inverseGain = Float32Array.from(data, (v, k) => mean / (v - darkAt(k)));
  return { width, height, darkLevelDn, ...(darkDn && { darkDn }), inverseGain };
}

/** A dark frame of `width`×`height` (see `readFlatField`). */
async function readDarkFrame(file: string, width: number, height: number): Promise<Float32Array> {
  const image = await readImage(file, "dark frame");
  if (image.width !== width || image.height !== height)
    throw new ConfigError(`the dark frame ${file} is ${image.width}×${image.height} px, the flat field ${width}×${height}: record both with the frames' size and binning`);
  return Float32Array.from(image.data);
}

async function readImage(file: string, what: string): Promise<{ data: ArrayLike<number>; width: number; height: number }> {
  try {
    const header = await imageHeader(file);
    return isCameraSampleFormat(header.sampleFormat) ? await readGrayImage(file) : await readGraySamples(file);
  } catch (err) {
    throw new ConfigError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * @throws ConfigError when the flat is not of `size`, naming the flat (`name`) and the images it
 * would divide (`what`).
 */
export function checkFlatFieldSize(flat: FlatField, size: { width: number; height: number }, name: string, what: string): void {
  if (flat.width !== size.width || flat.height !== size.height)
    throw new ConfigError(`${name} is ${flat.width}×${flat.height} px, ${what} ${size.width}×${size.height}: record the flat with their size and binning`);
}

/**
 * `frame` divided by the flat field above its dark level, rounded and clipped to its bit depth
 * (same size, type and bit depth).
 * @throws ConfigError when the frame and the flat differ in size.
 */
export function flatFielded(frame: Frame, flat: FlatField): Frame {
  checkFlatFieldSize(flat, frame, "the flat field", "the frames");
  const maxValue = 2 ** frame.bitDepth - 1;
  const src = frame.data;
  const data = src instanceof Uint8Array ? divide(src, new Uint8Array(src.length), flat, maxValue) : divide(src, new Uint16Array(src.length), flat, maxValue);
  return { ...frame, data };
}

/** `out[k]` = `src[k]` flat-fielded, rounded (half up: the store into the integer array truncates v + 0.5) and clipped to [0, maxValue]. */
function divide<T extends Uint8Array | Uint16Array>(src: T, out: T, flat: FlatField, maxValue: number): T {
  const dark = flat.darkLevelDn;
  const { inverseGain, darkDn } = flat;
  for (let k = 0; k < src.length; k++) {
    const v = dark + (src[k] - (darkDn ? darkDn[k] : dark)) * inverseGain[k] + 0.5;
    out[k] = v <= 0 ? 0 : v >= maxValue ? maxValue : v;
  }
  return out;
}

/**
 * The pixel-wise mean of frames of one size and bit depth, rounded (a flat field recorded as
 * the average of several frames: 16 frames cut the shot noise of one by 4).
 * @throws RangeError for no frames, or frames of different sizes or bit depths.
 */
export function meanFrame(frames: readonly Frame[]): Frame {
  const [first] = frames;
  if (!first) throw new RangeError("meanFrame needs at least one frame");
  if (frames.some((f) => f.width !== first.width || f.height !== first.height || f.bitDepth !== first.bitDepth)) throw new RangeError("meanFrame: frames differ in size or bit depth");
  const sum = new Float64Array(first.data.length);
  for (const f of frames) for (let k = 0; k < sum.length; k++) sum[k] += f.data[k];
  const data = first.data.map((_, k) => Math.round(sum[k] / frames.length));
  return { ...first, data };
}
