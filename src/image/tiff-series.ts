import { open } from "node:fs/promises";

/** How a multi-page TIFF's pages divide into channels, z slices and time points, as its writer recorded it. */
export interface TiffSeriesShape {
  channels: number;
  slices: number;
  frames: number;
  /** Channels interleaved page by page (ImageJ's and OME's XYCZT order): page i is channel i mod `channels`. */
  channelsInterleaved: boolean;
  /** Who wrote it: "ImageJ" (Fiji, and Micro-Manager's ImageJ-compatible files) or "OME". */
  writer: "ImageJ" | "OME";
}

/**
 * The series shape a multi-page TIFF's first ImageDescription (tag 270) records: ImageJ's
 * `channels=`, `slices=`, `frames=` lines, or OME-XML's SizeC, SizeZ, SizeT and DimensionOrder.
 * Null when the file is no TIFF, has no description, or the description is neither. Reads only
 * the header, the first IFD and the description, so a multi-gigabyte stack costs a few reads.
 */
export async function tiffSeriesShape(path: string): Promise<TiffSeriesShape | null> {
  const description = await tiffImageDescription(path);
  return description === null ? null : seriesShape(description);
}

/** The ImageJ or OME series shape in an ImageDescription, or null. */
export function seriesShape(description: string): TiffSeriesShape | null {
  if (description.startsWith("ImageJ=")) {
    const field = (name: string): number => Number(new RegExp(`^${name}=(\\d+)$`, "m").exec(description)?.[1] ?? 1);
    return { channels: field("channels"), slices: field("slices"), frames: field("frames"), channelsInterleaved: true, writer: "ImageJ" };
  }
  const pixels = /<(?:\w+:)?Pixels\b[^>]*>/.exec(description)?.[0];
  if (!description.includes("<OME") || pixels === undefined) return null;
  const attr = (name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(pixels)?.[1];
  const order = attr("DimensionOrder") ?? "XYCZT";
  return { channels: Number(attr("SizeC") ?? 1), slices: Number(attr("SizeZ") ?? 1), frames: Number(attr("SizeT") ?? 1), channelsInterleaved: order.indexOf("C") < order.indexOf("Z"), writer: "OME" };
}

const IMAGE_DESCRIPTION_TAG = 270;
const ASCII_TYPE = 2;
/** Descriptions longer than this are not read (an OME-XML of thousands of planes; its Pixels element comes first). */
const MAX_DESCRIPTION_BYTES = 1 << 20;

/** The first IFD's ImageDescription of a classic or BigTIFF file, or null. */
async function tiffImageDescription(path: string): Promise<string | null> {
  const file = await open(path, "r");
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    };
    const header = await read(0, 16);
    const order = header.toString("latin1", 0, 2);
    if (header.length < 8 || (order !== "II" && order !== "MM")) return null;
    const le = order === "II";
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const big = u16(header, 2) === 43;
    if (!big && u16(header, 2) !== 42) return null;
    const ifd = big ? u64(header, 8) : u32(header, 4);
    const [countBytes, entryBytes] = big ? [8, 20] : [2, 12];
    const count = await read(ifd, countBytes);
    if (count.length < countBytes) return null;
    const entries = await read(ifd + countBytes, (big ? u64(count, 0) : u16(count, 0)) * entryBytes);
    for (let e = 0; e + entryBytes <= entries.length; e += entryBytes) {
      if (u16(entries, e) !== IMAGE_DESCRIPTION_TAG || u16(entries, e + 2) !== ASCII_TYPE) continue;
      const length = big ? u64(entries, e + 4) : u32(entries, e + 4);
      const inline = length <= (big ? 8 : 4);
      const valueAt = e + (big ? 12 : 8);
      const bytes = inline ? entries.subarray(valueAt, valueAt + length) : await read(big ? u64(entries, valueAt) : u32(entries, valueAt), Math.min(length, MAX_DESCRIPTION_BYTES));
      return bytes.toString("latin1").replace(/\0+$/, "");
    }
    return null;
  } finally {
    await file.close();
  }
}
