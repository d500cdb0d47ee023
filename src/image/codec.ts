import sharp from "sharp";
import type { Frame } from "../hardware/camera/types.js";

/**
 * Decodes an 8- or 16-bit image file (PNG, TIFF, …) to a grayscale frame; colour is converted
 * to luminance, an alpha channel dropped. `page` selects a page of a multi-page TIFF (0 = the first).
 * @throws Error for other sample formats (float, 32-bit, signed): rescaling them per image would
 *   change the contrast between planes that focus scores compare.
 */
export async function readGrayImage(path: string, page = 0): Promise<Frame> {
  const sixteen = (await imageInfo(path, page)).bitDepth === 16;
  // Without removeAlpha a 16-bit image with an alpha channel decodes to interleaved grey and alpha.
  const { data, info } = await sharp(path, { page })
    .removeAlpha()
    .toColourspace(sixteen ? "grey16" : "b-w")
    .raw({ depth: sixteen ? "ushort" : "uchar" })
    .toBuffer({ resolveWithObject: true });
  const pixels = sixteen
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))
    : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  return { data: pixels, width: info.width, height: info.height, bitDepth: sixteen ? 16 : 8, timestampMs: 0 };
}

export interface ImageInfo {
  width: number;
  height: number;
  /** 8 or 16: the bit depth `readGrayImage` decodes the image to. */
  bitDepth: 8 | 16;
}

/**
 * Size and bit depth of one page of an image file, from its header.
 * @throws Error for sample formats `readGrayImage` does not decode.
 */
export async function imageInfo(path: string, page = 0): Promise<ImageInfo> {
  const meta = await sharp(path, { page }).metadata();
  if (meta.depth !== "uchar" && meta.depth !== "ushort")
    throw new Error(`${meta.depth} samples are not supported; save the image with 8- or 16-bit unsigned integer samples`);
  return { width: meta.width ?? 0, height: meta.height ?? 0, bitDepth: meta.depth === "ushort" ? 16 : 8 };
}

/** Number of pages of an image file (a multi-page TIFF holds several; PNG and most others 1). */
export async function imagePageCount(path: string): Promise<number> {
  return (await sharp(path).metadata()).pages ?? 1;
}

/** Encodes a frame as an 8-bit (bitDepth 8) or 16-bit (bitDepth > 8, values unscaled) grayscale PNG. */
export async function encodePng(frame: Frame): Promise<Buffer> {
  const raw = { width: frame.width, height: frame.height, channels: 1 as const };
  // Without the explicit colourspace sharp writes single-channel input as 3-channel sRGB.
  if (frame.data instanceof Uint8Array) return sharp(frame.data, { raw }).toColourspace("b-w").png().toBuffer();
  return sharp(frame.data, { raw }).toColourspace("grey16").png().toBuffer();
}

/** Encodes a frame as an 8-bit JPEG for previews (16-bit frames are scaled by their bit depth). */
export async function encodePreviewJpeg(frame: Frame, quality = 80): Promise<Buffer> {
  return sharp(to8Bit(frame), { raw: { width: frame.width, height: frame.height, channels: 1 } })
    .jpeg({ quality })
    .toBuffer();
}

function to8Bit(frame: Frame): Uint8Array {
  if (frame.data instanceof Uint8Array) return frame.data;
  const shift = Math.max(0, frame.bitDepth - 8);
  const out = new Uint8Array(frame.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, frame.data[i] >> shift);
  return out;
}
