import sharp from "sharp";
import type { Frame } from "../hardware/camera/types.js";

/**
 * Decodes an 8- or 16-bit image file (PNG, TIFF, …) to a grayscale frame; colour is converted
 * to luminance, an alpha channel dropped. `page` selects a page of a multi-page TIFF (0 = the first).
 * @throws Error for other sample formats (float, 32-bit, signed): rescaling them per image would
 *   change the contrast between planes that focus scores compare (`importStack` maps a whole
 *   series of them with one linear map).
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

/** What a page's header says: size, channels, and the sample format as libvips names it (uchar, ushort, short, uint, int, float, double, …). */
export interface ImageHeader {
  width: number;
  height: number;
  channels: number;
  sampleFormat: string;
}

/** Size, channels and sample format of one page of an image file, whatever its sample format. */
export async function imageHeader(path: string, page = 0): Promise<ImageHeader> {
  const meta = await sharp(path, { page }).metadata();
  return { width: meta.width ?? 0, height: meta.height ?? 0, channels: meta.channels ?? 1, sampleFormat: meta.depth ?? "unknown" };
}

/** The sample formats `readGrayImage` decodes as they are. */
export function isCameraSampleFormat(sampleFormat: string): boolean {
  return sampleFormat === "uchar" || sampleFormat === "ushort";
}

const SAMPLE_FORMAT_NAMES: Record<string, string> = {
  uchar: "8-bit",
  ushort: "16-bit",
  char: "signed 8-bit",
  short: "signed 16-bit",
  uint: "32-bit",
  int: "signed 32-bit",
  float: "32-bit float",
  double: "64-bit float",
};

/** A libvips sample format as people name it ("ushort" → "16-bit", "float" → "32-bit float"). */
export function sampleFormatName(sampleFormat: string): string {
  return SAMPLE_FORMAT_NAMES[sampleFormat] ?? sampleFormat;
}

/**
 * Size and bit depth of one page of an image file, from its header.
 * @throws Error for sample formats `readGrayImage` does not decode.
 */
export async function imageInfo(path: string, page = 0): Promise<ImageInfo> {
  const { width, height, sampleFormat } = await imageHeader(path, page);
  if (!isCameraSampleFormat(sampleFormat)) throw new Error(`${sampleFormat} samples are not supported; save the image with 8- or 16-bit unsigned integer samples`);
  return { width, height, bitDepth: sampleFormat === "ushort" ? 16 : 8 };
}

/**
 * Decodes one page of a single-channel image of any sample format (float, signed, 32-bit, …)
 * to its sample values as they are, for `importStack`'s one linear map per stack.
 * @throws Error for images with more than one channel.
 */
export async function readGraySamples(path: string, page = 0): Promise<{ data: Float32Array; width: number; height: number }> {
  const meta = await sharp(path, { page }).metadata();
  if (meta.channels !== 1) throw new Error(`${meta.channels}-channel ${sampleFormatName(meta.depth ?? "")} images are not supported; save one channel per page`);
  // Kept in the page's own interpretation: libvips scales a grey16 page by 1/256 on its way to
  // b-w, and casts it to unsigned 16 bit on its way to grey16, so a signed one is shifted first.
  const grey16 = meta.space === "grey16";
  const shift = grey16 && meta.depth === "short" ? 32768 : 0;
  const image = sharp(path, { page });
  const { data, info } = await (shift ? image.linear(1, shift) : image)
    .toColourspace(grey16 ? "grey16" : "b-w")
    .raw({ depth: "float" })
    .toBuffer({ resolveWithObject: true });
  const samples = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)).map((v) => v - shift);
  return { data: samples, width: info.width, height: info.height };
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
