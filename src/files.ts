import { rename, writeFile } from "node:fs/promises";

/**
 * Writes `data` to `path` through a temporary file beside it and a rename, so a reader never
 * sees a half-written file (not fsync'd: the timelapse storage and the stage position store,
 * which must survive a power cut, sync as well).
 */
export async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
