import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DeviceError } from "../../errors.js";

/** What survives a restart of a stage without a home switch (manual microscopes have none). */
export interface StoredPosition {
  positionUm: number;
  /** ISO time of the write. */
  updatedAt: string;
  /** Coil phase index of a unipolar (ULN2003) motor, so the next move continues the sequence. */
  coilPhase?: number;
}

export const POSITION_FILE = "stage-position.json";

/**
 * The stage position in the state directory, written after every move and "set zero".
 * Writes are atomic and durable: a temporary file is written, fsync'd and renamed over the old
 * one, then the directory is fsync'd, so a power cut leaves either the old or the new position,
 * never a torn file. Writes are serialised in call order.
 */
export class PositionStore {
  private chain: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(readonly file: string) {}

  static inStateDir(stateDir: string): PositionStore {
    return new PositionStore(join(stateDir, POSITION_FILE));
  }

  /** The saved position, or undefined when none was ever saved; a damaged file is a DeviceError. */
  async read(): Promise<StoredPosition | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new DeviceError(`cannot read the saved stage position ${this.file}: ${(err as Error).message}`, "stage", { cause: err });
    }
    try {
      const parsed = JSON.parse(text) as Partial<StoredPosition>;
      if (typeof parsed.positionUm !== "number" || !Number.isFinite(parsed.positionUm)) throw new Error("positionUm is missing");
      return { positionUm: parsed.positionUm, updatedAt: String(parsed.updatedAt ?? ""), ...(Number.isInteger(parsed.coilPhase) ? { coilPhase: parsed.coilPhase } : {}) };
    } catch (err) {
      throw new DeviceError(`saved stage position ${this.file} is damaged (${(err as Error).message}): delete it and set zero again`, "stage", { cause: err });
    }
  }

  write(position: { positionUm: number; coilPhase?: number }): Promise<void> {
    const record: StoredPosition = { positionUm: position.positionUm, updatedAt: new Date().toISOString(), ...(position.coilPhase !== undefined ? { coilPhase: position.coilPhase } : {}) };
    const next = this.chain.then(() => this.writeNow(record));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async writeNow(record: StoredPosition): Promise<void> {
    const dir = dirname(this.file);
    const tmp = `${this.file}.${process.pid}.${this.seq++}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, "w", 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(record)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      const dh = await open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      throw new DeviceError(`cannot save the stage position to ${this.file}: ${(err as Error).message}`, "stage", { cause: err });
    }
  }
}
