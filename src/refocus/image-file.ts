import { access } from "node:fs/promises";
import { extname } from "node:path";
import sharp from "sharp";
import { ConfigError } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import { readGrayImage } from "../image/codec.js";

/** File types `focusbox refocus` reads and writes (by extension). */
export const IMAGE_EXTENSIONS = [".png", ".tif", ".tiff"] as const;

/** The image type of a path by its extension. @throws ConfigError for anything but .png/.tif/.tiff. */
export function imageType(path: string): "png" | "tiff" {
  const ext = extname(path).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".tif" || ext === ".tiff") return "tiff";
  throw new ConfigError(`${path}: unsupported image type "${ext || "(none)"}"; use ${IMAGE_EXTENSIONS.join(", ")}`, [{ path: "file", message: "unsupported type" }]);
}

/**
 * Reads an 8- or 16-bit grayscale PNG or TIFF (colour converted to luminance). An 8-bit file
 * gives an 8-bit frame, a 16-bit file a 16-bit frame (values unscaled).
 * @throws ConfigError for another extension or a file sharp cannot decode.
 */
export async function readImageFile(path: string): Promise<Frame> {
  imageType(path);
  await access(path).catch(() => {
    throw new ConfigError(`${path}: no such file`, [{ path: "file", message: "not found" }]);
  });
  try {
    return await readGrayImage(path);
  } catch (err) {
    throw new ConfigError(`${path}: not a readable image (${(err as Error).message})`, [{ path: "file", message: "not an image" }]);
  }
}

/** Encodes a frame as a grayscale PNG or TIFF: 8-bit for Uint8Array data, else 16-bit (values unscaled). */
export async function encodeImage(frame: Frame, type: "png" | "tiff"): Promise<Buffer> {
  const raw = { width: frame.width, height: frame.height, channels: 1 as const };
  const img = sharp(frame.data, { raw }).toColourspace(frame.data instanceof Uint8Array ? "b-w" : "grey16");
  return type === "png" ? img.png().toBuffer() : img.tiff({ compression: "lzw" }).toBuffer();
}

/** Writes a frame to `path` as PNG or TIFF by its extension (same bit depth as the frame's pixel type). */
export async function writeImageFile(path: string, frame: Frame): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  await writeFile(path, await encodeImage(frame, imageType(path)));
}
