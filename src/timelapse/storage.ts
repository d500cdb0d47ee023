import * as fsp from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { encodePng } from "../image/codec.js";
import type { Frame } from "../hardware/camera/types.js";

/** The file-system calls storage makes: node's by default; tests inject failures (ENOSPC) here. */
export interface StorageFs {
  open(path: string, flags: string): Promise<Pick<fsp.FileHandle, "write" | "sync" | "close">>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  statfs(path: string): Promise<{ bavail: number | bigint; bsize: number | bigint }>;
}

export const nodeFs: StorageFs = {
  open: (p, f) => fsp.open(p, f),
  rename: fsp.rename,
  unlink: fsp.unlink,
  readdir: (p) => fsp.readdir(p),
  mkdir: fsp.mkdir,
  statfs: (p) => fsp.statfs(p),
};

/** Raised when a write fails for lack of space (ENOSPC/EDQUOT) or the free-space guard trips: the job pauses. */
export class DiskFullError extends Error {
  override readonly name = "DiskFullError";
}

const TMP = ".tmp";

/** A point's image files: `t<index>-p<plane>.png` and its `.json` sidecar. */
export function frameBase(index: number, plane: number): string {
  return `t${String(index).padStart(6, "0")}-p${String(plane).padStart(2, "0")}`;
}

/**
 * Image storage of one job directory. Every file is written atomically (temporary file, fsync,
 * rename, fsync of the directory), so after a crash or a full disk a file is either complete
 * or absent; PNGs are 8- or 16-bit as the frame (values unscaled).
 */
export class FrameStore {
  constructor(
    readonly dir: string,
    private readonly fs: StorageFs = nodeFs,
  ) {}

  async init(): Promise<void> {
    await this.fs.mkdir(this.dir, { recursive: true });
  }

  /** Writes `<base>.png` then `<base>.json`; returns the PNG's file name and the bytes written. */
  async save(base: string, frame: Frame, meta: Record<string, unknown>): Promise<{ file: string; bytes: number }> {
    const png = await encodePng(frame);
    const file = `${base}.png`;
    const sidecar = { file, width: frame.width, height: frame.height, bitDepth: frame.bitDepth, pngBits: frame.data instanceof Uint8Array ? 8 : 16, ...meta };
    const json = Buffer.from(JSON.stringify(sidecar, null, 2) + "\n");
    await this.writeAtomic(file, png);
    await this.writeAtomic(`${base}.json`, json);
    return { file, bytes: png.length + json.length };
  }

  /** Removes temporary files and every file of the given frame indexes (a point that was not journaled). */
  async removeUncommitted(indexes: (index: number) => boolean): Promise<string[]> {
    const names = await this.fs.readdir(this.dir).catch(() => [] as string[]);
    const doomed = names.filter((n) => n.includes(TMP) || (/^t(\d+)-p\d+\.(png|json)$/.test(n) && indexes(Number(/^t(\d+)/.exec(n)![1]))));
    for (const n of doomed) await this.fs.unlink(join(this.dir, n)).catch(() => undefined);
    return doomed;
  }

  /** Free bytes for unprivileged writers on the job's file system. */
  async freeBytes(): Promise<number> {
    const s = await this.fs.statfs(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  private async writeAtomic(name: string, data: Buffer): Promise<void> {
    const path = join(this.dir, name);
    const tmp = `${path}${TMP}`;
    try {
      const fh = await this.fs.open(tmp, "w");
      try {
        await fh.write(data, 0, data.length, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.fs.rename(tmp, path);
      await syncDir(this.fs, dirname(path));
    } catch (err) {
      await this.fs.unlink(tmp).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT") throw new DiskFullError(`disk full (${code}) writing ${basename(path)} in ${this.dir}`, { cause: err });
      throw err;
    }
  }
}

/** fsync of a directory, so a rename in it survives power loss. */
export async function syncDir(fs: StorageFs, dir: string): Promise<void> {
  const fh = await fs.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
