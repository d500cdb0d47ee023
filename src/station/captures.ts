import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { writeAtomic } from "../files.js";
import { encodePng } from "../image/codec.js";
import type { Frame } from "../hardware/camera/types.js";
import { compactTimestamp } from "./operations.js";

/** The JSON sidecar written beside every captured PNG (`<id>.json`). */
export interface CaptureInfo {
  id: string;
  file: string;
  capturedAt: string;
  zUm: number;
  width: number;
  height: number;
  bitDepth: number;
  /** PNG sample depth: 8, or 16 for frames deeper than 8 bits (values unscaled). */
  pngBits: 8 | 16;
  note?: string;
  [extra: string]: unknown;
}

/** A capture id that does not exist (HTTP 404). */
export class CaptureNotFoundError extends Error {
  override readonly name = "CaptureNotFoundError";
  constructor(readonly id: string) {
    super(`no capture ${id}`);
  }
}

/** Capture ids are generated here and are the only names a request may use. */
const ID = /^\d{8}T\d{6}\d{3}Z-[0-9a-f]{6}$/;

/**
 * Full-frame captures in one directory: `<id>.png` (8- or 16-bit grayscale) and `<id>.json`.
 * Ids are checked against their generated shape, so no request reaches outside the directory.
 */
export class CaptureStore {
  constructor(readonly dir: string) {}

  async save(frame: Frame, meta: { zUm: number; note?: string; [extra: string]: unknown }, now = new Date()): Promise<CaptureInfo> {
    await mkdir(this.dir, { recursive: true });
    const id = `${compactTimestamp(now)}-${randomBytes(3).toString("hex")}`;
    const info: CaptureInfo = {
      ...meta,
      id,
      file: `${id}.png`,
      capturedAt: now.toISOString(),
      width: frame.width,
      height: frame.height,
      bitDepth: frame.bitDepth,
      pngBits: frame.data instanceof Uint8Array ? 8 : 16,
    };
    await writeAtomic(join(this.dir, info.file), await encodePng(frame));
    await writeAtomic(join(this.dir, `${id}.json`), JSON.stringify(info, null, 2) + "\n");
    return info;
  }

  /** Newest first. Sidecars that do not parse are skipped. */
  async list(): Promise<CaptureInfo[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const ids = names.filter((n) => n.endsWith(".json") && ID.test(n.slice(0, -5))).map((n) => n.slice(0, -5));
    const infos = await Promise.all(ids.map((id) => this.info(id).catch(() => null)));
    return infos.filter((i): i is CaptureInfo => i !== null).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  async info(id: string): Promise<CaptureInfo> {
    return JSON.parse((await this.read(id, "json")).toString("utf8")) as CaptureInfo;
  }

  async png(id: string): Promise<Buffer> {
    return this.read(id, "png");
  }

  private async read(id: string, ext: "png" | "json"): Promise<Buffer> {
    try {
      return await readFile(this.path(id, ext));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CaptureNotFoundError(id);
      throw err;
    }
  }

  /** @throws ConfigError for anything but a generated id. */
  private path(id: string, ext: "png" | "json"): string {
    if (!ID.test(id)) throw new ConfigError(`id: "${id.slice(0, 80)}" is not a capture id`, [{ path: "id", message: "not a capture id" }]);
    return join(this.dir, `${id}.${ext}`);
  }
}
