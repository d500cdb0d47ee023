import { access, mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve, sep } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { writeAtomic } from "../files.js";
import { encodePng, imageHeader, imageInfo, imagePageCount, isCameraSampleFormat, readGrayImage, readGraySamples, sampleFormatName, type ImageHeader, type ImageInfo } from "../image/codec.js";
import { tiffSeriesShape } from "../image/tiff-series.js";
import { checkFlatFieldSize, flatFielded, type FlatField } from "../image/flat-field.js";
import type { Frame } from "./camera/types.js";
import { checkPlaneNames, planeOrder } from "./plane-names.js";

/**
 * Z-stack directory (DESIGN.md): `stack.json` beside 8- or 16-bit grayscale PNG/TIFF planes.
 * Used by calibration, the replay backend and the evaluation harness.
 */
export const stackManifestSchema = z.object({
  planes: z
    .array(z.object({ file: z.string().min(1), zUm: z.number() }))
    .min(2, "a stack needs at least 2 planes"),
  focusUm: z.number().optional(),
  pixelSizeUm: z.number().positive().optional(),
  objective: z.object({ magnification: z.number().positive(), na: z.number().positive() }).optional(),
});
export type StackManifest = z.infer<typeof stackManifestSchema>;

export interface StackPlane {
  zUm: number;
  frame: Frame;
}

export interface ZStack {
  dir: string;
  manifest: StackManifest;
  /** Planes sorted by increasing zUm, all the same size and bit depth. */
  planes: StackPlane[];
}

/** The z of a manifest's lowest and highest planes (µm). */
export function planeRangeUm(manifest: StackManifest): [number, number] {
  const zsUm = manifest.planes.map((p) => p.zUm);
  return [Math.min(...zsUm), Math.max(...zsUm)];
}

/** A stack directory whose manifest and plane headers are checked; `load()` decodes the planes. */
export interface StackHandle {
  dir: string;
  manifest: StackManifest;
  load(): Promise<ZStack>;
}

/**
 * Opens a stack directory: validates stack.json and reads every plane file's header (size and
 * bit depth), decoding no pixels, so a tool going through several large stacks can find a bad
 * one at once yet hold one stack's planes in memory at a time. Every problem is a ConfigError
 * naming the file or field; a plane whose pixels do not decode fails in `load()`.
 */
export async function openStack(dir: string): Promise<StackHandle> {
  const manifestPath = join(dir, "stack.json");
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !(await stat(dir).catch(() => null))) throw new ConfigError(`stack directory ${dir} does not exist`);
    throw new ConfigError(`cannot read ${manifestPath}: ${(err as Error).message}${await notAStack(dir)}`);
  }
  const parsed = stackManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ConfigError(`${manifestPath}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const manifest = parsed.data;
  const root = resolve(dir);
  const planes = [...manifest.planes].sort((a, b) => a.zUm - b.zUm);
  let first: ImageInfo | undefined;
  for (const [i, plane] of planes.entries()) {
    const file = resolve(root, plane.file);
    if (!file.startsWith(root + sep)) throw new ConfigError(`${manifestPath}: plane file ${plane.file} lies outside the stack directory`);
    const info = await imageInfo(file).catch((err: Error) => {
      throw new ConfigError(`${manifestPath}: cannot decode plane ${plane.file}: ${err.message}`);
    });
    first ??= info;
    if (info.width !== first.width || info.height !== first.height || info.bitDepth !== first.bitDepth)
      throw new ConfigError(`${manifestPath}: plane at z=${plane.zUm} µm differs in size or bit depth from the first plane`);
    if (i > 0 && plane.zUm === planes[i - 1].zUm) throw new ConfigError(`${manifestPath}: two planes at z=${plane.zUm} µm`);
  }
  const load = async (): Promise<ZStack> => {
    const frames: StackPlane[] = [];
    for (const plane of planes) {
      const frame = await readGrayImage(resolve(root, plane.file)).catch((err: Error) => {
        throw new ConfigError(`${manifestPath}: cannot decode plane ${plane.file}: ${err.message}`);
      });
      frames.push({ zUm: plane.zUm, frame });
    }
    return { dir, manifest, planes: frames };
  };
  return { dir, manifest, load };
}

/** What to do with `path` when it holds no stack.json: "" when it is not an image series either. */
async function notAStack(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  const images = info?.isDirectory() ? (await readdir(path)).filter(isImageFile).length : info?.isFile() && isImageFile(path) ? 1 : 0;
  if (images === 0) return "";
  const what = info!.isDirectory() ? `a directory of ${images} image${images === 1 ? "" : "s"}` : "an image file";
  return `. ${path} is ${what}, not a stack directory: make one with \`focusbox stack import ${path} --out DIR --step UM [--focus UM]\``;
}

/** Reads and validates a stack directory, planes decoded (openStack, then load). */
export async function readStack(dir: string): Promise<ZStack> {
  return (await openStack(dir)).load();
}

/** @throws ConfigError when `dir` already holds a stack.json: a recorded or imported stack is never overwritten. */
async function refuseExistingStack(dir: string): Promise<void> {
  const manifestPath = join(dir, "stack.json");
  if (await access(manifestPath).then(() => true, () => false)) throw new ConfigError(`${manifestPath} exists; write the stack into a new directory`);
}

/** Writes a stack directory atomically per file: planes as PNG, then stack.json last. */
export class StackWriter {
  private readonly planes: StackManifest["planes"] = [];

  constructor(readonly dir: string) {}

  /** Creates the directory. @throws ConfigError when it already holds a stack (refuseExistingStack). */
  async open(): Promise<void> {
    await refuseExistingStack(this.dir);
    await mkdir(this.dir, { recursive: true });
  }

  async addPlane(zUm: number, frame: Frame): Promise<void> {
    const file = `z${zUm >= 0 ? "+" : "-"}${Math.abs(zUm).toFixed(2).padStart(7, "0")}.png`;
    await writeAtomic(join(this.dir, file), await encodePng(frame));
    this.planes.push({ file, zUm });
  }

  async close(meta: Omit<StackManifest, "planes">): Promise<void> {
    const manifest: StackManifest = { planes: this.planes, ...meta };
    await writeAtomic(join(this.dir, "stack.json"), Buffer.from(JSON.stringify(manifest, null, 2) + "\n"));
  }

  /** Removes the plane files written so far, and the directory when that leaves it empty (an abandoned stack). */
  async discard(): Promise<void> {
    await Promise.all(this.planes.map((p) => rm(join(this.dir, p.file), { force: true })));
    this.planes.length = 0;
    await rmdir(this.dir).catch(() => {});
  }
}

export interface StackImportOptions {
  outDir: string;
  /** z of the first plane (µm). */
  firstUm: number;
  /** z step from one plane to the next (µm; negative when the planes run downwards). */
  stepUm: number;
  /**
   * Channels interleaved in the sources (ImageJ hyperstack order: channel fastest, then z) and
   * the one to import, 1-based; default 1 of 1.
   */
  channels?: number;
  channel?: number;
  /** Every plane divided by this flat field (8- or 16-bit sources only; src/image/flat-field.ts). */
  flatField?: FlatField;
  meta: Omit<StackManifest, "planes">;
}

/** Plane files a directory import takes (JPEG for cameras that save nothing else; see importStack). */
const IMAGE_EXTENSIONS = new Set([".png", ".tif", ".tiff", ".jpg", ".jpeg"]);

/** A file name a directory import takes as a plane: by its extension, not macOS's "._" resource-fork companions. */
function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) && !basename(name).startsWith("._");
}
/** Plane files are named by z to 0.01 µm. */
const MIN_STEP_UM = 0.01;

/**
 * Makes a stack directory from images recorded elsewhere, plane i at z = firstUm + i·stepUm:
 * `sources` is one multi-page TIFF (a page per plane), one directory (its PNG, TIFF and JPEG files
 * in `planeOrder`: z2 before z10, z-2 before z+2) or several single-page images in the order given; with
 * `channels` > 1, every `channels`-th image from `channel` on.
 * Planes are re-encoded losslessly as PNG (8- or 16-bit; colour → luminance). Refuses to
 * overwrite an existing stack.json and checks every plane before writing anything.
 * Sources with other samples (float, signed, 32-bit: a processed stack) go to 16 bit through one
 * linear map for every plane (`SampleMap`). With `flatField`, 8- and 16-bit planes are flat-fielded.
 */
export async function importStack(sources: readonly string[], o: StackImportOptions): Promise<StackImportResult> {
  if (Math.abs(o.stepUm) < MIN_STEP_UM) throw new ConfigError(`the z step must be at least ${MIN_STEP_UM} µm in magnitude (got ${o.stepUm})`);
  await refuseExistingStack(o.outDir);
  const channels = o.channels ?? 1;
  const channel = o.channel ?? 1;
  if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(channel) || channel < 1 || channel > channels)
    throw new ConfigError(`channel ${channel} of ${channels}: give whole numbers with 1 ≤ channel ≤ channels`);
  const images = await importedPlanes(sources);
  if (images[0]?.page !== undefined) await checkSeriesShape(images[0].file, images.length, channels);
  else checkPlaneNames(images.map((p) => basename(p.file)), sources.length > 1);
  if (images.length % channels !== 0) throw new ConfigError(`${images.length} images do not divide into ${channels} channels`);
  const planes = images.filter((_, i) => i % channels === channel - 1);
  // Plane files written beside the source images could replace one not yet read.
  if (planes.some((p) => dirname(resolve(p.file)) === resolve(o.outDir))) throw new ConfigError(`${o.outDir} holds the source images; import into a directory of its own`);
  if (planes.length < 2) throw new ConfigError(`a stack needs at least 2 planes; ${sources.join(" ")} holds ${planes.length} (PNG, TIFF or JPEG images)`);
  let first: ImageHeader | undefined;
  for (const p of planes) {
    const header = await imageHeader(p.file, p.page ?? 0).catch((err: Error) => {
      throw new ConfigError(`cannot read ${planeName(p)}: ${err.message}`);
    });
    first ??= header;
    if (header.width !== first.width || header.height !== first.height || header.sampleFormat !== first.sampleFormat)
      throw new ConfigError(`${planeName(p)} is ${describe(header)}, the first plane ${describe(first)}; every plane must match`);
  }
  const samples = first!.sampleFormat;
  const flat = o.flatField;
  if (flat) checkFlatFieldSize(flat, first!, "the flat field", "the planes");
  if (flat && !isCameraSampleFormat(samples))
    throw new ConfigError(`a flat field is applied to 8- or 16-bit planes; these are ${sampleFormatName(samples)}: flat-field the series where it was processed, or import it without --flat`);
  const map = isCameraSampleFormat(samples) ? null : await sampleMap(planes, samples);
  const zsUm = planes.map((_, i) => Number((o.firstUm + i * o.stepUm).toFixed(6)));
  const writer = new StackWriter(o.outDir);
  await writer.open();
  try {
    for (const [i, p] of planes.entries()) {
      const frame = await (map ? readMapped(p, map) : readGrayImage(p.file, p.page ?? 0)).catch((err: Error) => {
        throw new ConfigError(`cannot decode ${planeName(p)}: ${err.message}`);
      });
      await writer.addPlane(zsUm[i], flat ? flatFielded(frame, flat) : frame);
    }
    await writer.close(o.meta);
  } catch (err) {
    // A plane whose header reads but whose data does not (a truncated file) fails here: leave no half stack behind.
    await writer.discard();
    throw err;
  }
  return { zsUm, sampleMap: map ?? undefined };
}

/** What `importStack` wrote. */
export interface StackImportResult {
  /** The z of each plane written (µm), in source order. */
  zsUm: number[];
  /** For sources with other samples than 8- or 16-bit unsigned: the one linear map to 16 bit applied to every plane. */
  sampleMap?: SampleMap;
}

/** 16-bit DN = round((value − offset) × scale), the same for every plane of an import. */
export interface SampleMap {
  sampleFormat: string;
  offset: number;
  scale: number;
}

/**
 * The linear map of a stack of float, signed or 32-bit samples onto 16 bit: one for all planes,
 * since focus scores compare planes and a map per plane would change their contrast. Zero stays
 * zero unless some sample is negative (then the lowest maps to 0); the highest maps to 65535.
 * @throws ConfigError for a sample that is not a finite number.
 */
async function sampleMap(planes: readonly ImportedPlane[], sampleFormat: string): Promise<SampleMap> {
  let lo = 0;
  let hi = -Infinity;
  for (const p of planes) {
    const { data } = await readGraySamples(p.file, p.page ?? 0).catch((err: Error) => {
      throw new ConfigError(`cannot decode ${planeName(p)}: ${err.message}`);
    });
    for (const v of data) {
      if (!Number.isFinite(v)) throw new ConfigError(`${planeName(p)} holds a sample that is not a finite number (${v}); replace NaN and infinite values first`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return { sampleFormat, offset: lo, scale: hi > lo ? MAX_DN_16 / (hi - lo) : 1 };
}

const MAX_DN_16 = 65535;

/** One plane through a stack's sample map, as a 16-bit frame. */
async function readMapped(p: ImportedPlane, map: SampleMap): Promise<Frame> {
  const { data, width, height } = await readGraySamples(p.file, p.page ?? 0);
  const dn = Uint16Array.from(data, (v) => Math.min(MAX_DN_16, Math.max(0, Math.round((v - map.offset) * map.scale))));
  return { data: dn, width, height, bitDepth: 16, timestampMs: 0 };
}

interface ImportedPlane {
  file: string;
  page?: number;
}

function planeName(p: ImportedPlane): string {
  return p.page === undefined ? p.file : `${p.file} page ${p.page + 1}`;
}

function describe(h: ImageHeader): string {
  return `${h.width}×${h.height} ${sampleFormatName(h.sampleFormat)}`;
}

/**
 * Refuses a multi-page TIFF whose ImageJ or OME description says its `pages` are not one z-series
 * of the `channels` asked for: time points, channels in blocks, or another channel count (a
 * two-channel hyperstack read as one series puts channel 2's slices above channel 1's).
 */
async function checkSeriesShape(file: string, pages: number, channels: number): Promise<void> {
  const shape = await tiffSeriesShape(file).catch(() => null);
  if (shape === null || shape.channels * shape.slices * shape.frames !== pages) return;
  const what = `${file} is an ${shape.writer} series of ${shape.channels} channel${shape.channels === 1 ? "" : "s"} × ${shape.slices} slices × ${shape.frames} time point${shape.frames === 1 ? "" : "s"}`;
  if (shape.frames > 1) throw new ConfigError(`${what}: focusbox imports one z-series; save one time point of it (Fiji: Image › Duplicate…)`);
  if (shape.channels > 1 && !shape.channelsInterleaved) throw new ConfigError(`${what}, its channels one after another: save one channel of it (Fiji: Image › Color › Split Channels)`);
  if (shape.channels !== channels) throw new ConfigError(`${what}: give --channels ${shape.channels}${shape.channels > 1 ? ` --channel K (K = 1 … ${shape.channels})` : ""}`);
}

async function importedPlanes(sources: readonly string[]): Promise<ImportedPlane[]> {
  if (sources.length === 1) {
    const [source] = sources;
    const info = await stat(source).catch(() => {
      throw new ConfigError(`${source} does not exist`);
    });
    if (info.isDirectory()) {
      const all = await readdir(source);
      // Its planes' z are in stack.json already.
      if (all.includes("stack.json")) throw new ConfigError(`${source} is already a stack directory (it holds a stack.json): use it as it is`);
      return planeOrder(all.filter(isImageFile)).map((n) => ({ file: join(source, n) }));
    }
    const pages = await pageCount(source);
    return pages > 1 ? Array.from({ length: pages }, (_, page) => ({ file: source, page })) : [{ file: source }];
  }
  for (const file of sources)
    if ((await pageCount(file)) > 1) throw new ConfigError(`${file} has several pages; import a multi-page TIFF on its own`);
  return sources.map((file) => ({ file }));
}

async function pageCount(file: string): Promise<number> {
  return imagePageCount(file).catch((err: Error) => {
    throw new ConfigError(`cannot read ${file}: ${err.message}`);
  });
}

