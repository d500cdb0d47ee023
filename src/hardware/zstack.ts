import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { encodePng, readGrayImage } from "../image/codec.js";
import type { Frame } from "./camera/types.js";

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

/** Reads and validates a stack directory; every problem is a ConfigError naming the file or field. */
export async function readStack(dir: string): Promise<ZStack> {
  const manifestPath = join(dir, "stack.json");
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read ${manifestPath}: ${(err as Error).message}`);
  }
  const parsed = stackManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ConfigError(`${manifestPath}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const manifest = parsed.data;
  const root = resolve(dir);
  const planes: StackPlane[] = [];
  for (const plane of manifest.planes) {
    const file = resolve(root, plane.file);
    if (!file.startsWith(root + sep)) throw new ConfigError(`${manifestPath}: plane file ${plane.file} lies outside the stack directory`);
    const frame = await readGrayImage(file).catch((err: Error) => {
      throw new ConfigError(`cannot decode plane ${plane.file}: ${err.message}`);
    });
    planes.push({ zUm: plane.zUm, frame });
  }
  planes.sort((a, b) => a.zUm - b.zUm);
  const first = planes[0].frame;
  for (const [i, p] of planes.entries()) {
    if (p.frame.width !== first.width || p.frame.height !== first.height || p.frame.bitDepth !== first.bitDepth)
      throw new ConfigError(`${manifestPath}: plane at z=${p.zUm} µm differs in size or bit depth from the first plane`);
    if (i > 0 && p.zUm === planes[i - 1].zUm) throw new ConfigError(`${manifestPath}: two planes at z=${p.zUm} µm`);
  }
  return { dir, manifest, planes };
}

/** Writes a stack directory atomically per file: planes as PNG, then stack.json last. */
export class StackWriter {
  private readonly planes: StackManifest["planes"] = [];

  constructor(readonly dir: string) {}

  async open(): Promise<void> {
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
}

async function writeAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
