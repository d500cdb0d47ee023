import { open, readFile, type FileHandle } from "node:fs/promises";
import type { TimelapseJob } from "./job.js";

/** What autofocus did at one point. */
export interface PointFocus {
  policy: string;
  /** Where the planes were centred (µm). */
  focusUm: number;
  startUm: number;
  images: number;
  /** Tracking: whether 2 images sufficed ("tracking") or the full search ran ("search"). */
  mode?: string;
  /** The fallback metric's own peak (DeepFocus refused) or valley (an unstained sample) set the focus, unconfirmed by DeepFocus (AutofocusResult.fallback). */
  unconfirmed?: true;
  /** Autofocus failed: the point was captured where the stage stood. */
  error?: string;
  durationMs: number;
}

/** The journal's records, one JSON object per line; the first is always `created`. */
export type JournalRecord =
  | { t: "created"; job: TimelapseJob }
  | { t: "done"; index: number; dueMs: number; atMs: number; files: string[]; zUm: number[]; focus: PointFocus }
  | { t: "missed"; from: number; to: number; reason: string; atMs: number }
  | { t: "paused"; reason: string; atMs: number }
  | { t: "resumed"; atMs: number }
  | { t: "stopped"; reason: string; atMs: number }
  | { t: "finished"; atMs: number };

/**
 * Append-only JSON-lines journal. Each append is written at the end of the last complete
 * record and fdatasync'ed before it returns; a torn last line (crash, full disk) is cut off
 * on open and after a failed append, so the file is always a sequence of whole records.
 */
export class Journal {
  private constructor(
    private readonly fh: FileHandle,
    private size: number,
  ) {}

  /** Opens (creating) the journal and returns it with its complete records. */
  static async open(path: string): Promise<{ journal: Journal; records: JournalRecord[] }> {
    const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    const end = text.lastIndexOf("\n") + 1;
    const records: JournalRecord[] = [];
    for (const line of text.slice(0, end).split("\n")) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        break;
      }
    }
    const fh = await open(path, text ? "r+" : "w+");
    const size = Buffer.byteLength(text.slice(0, end));
    await fh.truncate(size);
    await fh.datasync();
    return { journal: new Journal(fh, size), records };
  }

  async append(record: JournalRecord): Promise<void> {
    const line = Buffer.from(JSON.stringify(record) + "\n");
    try {
      await this.fh.write(line, 0, line.length, this.size);
      await this.fh.datasync();
      this.size += line.length;
    } catch (err) {
      await this.fh.truncate(this.size).catch(() => undefined);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Progress reconstructed from records. */
export interface JournalState {
  job: TimelapseJob;
  /** Next frame index that has no record. */
  nextIndex: number;
  done: Extract<JournalRecord, { t: "done" }>[];
  missed: number;
  missedRanges: Extract<JournalRecord, { t: "missed" }>[];
  /** The reason of an unresolved pause, or null. */
  paused: string | null;
  ended: Extract<JournalRecord, { t: "stopped" | "finished" }> | null;
}

/** Replays records into the job's progress. @throws Error when the first record is not `created`. */
export function replay(records: readonly JournalRecord[]): JournalState {
  const first = records[0];
  if (!first || first.t !== "created") throw new Error("timelapse journal does not start with a created record");
  const state: JournalState = { job: first.job, nextIndex: 0, done: [], missed: 0, missedRanges: [], paused: null, ended: null };
  for (const r of records.slice(1)) apply(state, r);
  return state;
}

/** Applies one record to the progress. */
export function apply(state: JournalState, r: JournalRecord): void {
  if (r.t === "done") {
    state.done.push(r);
    state.nextIndex = r.index + 1;
  } else if (r.t === "missed") {
    state.missedRanges.push(r);
    state.missed += r.to - r.from + 1;
    state.nextIndex = r.to + 1;
  } else if (r.t === "paused") state.paused = r.reason;
  else if (r.t === "resumed") state.paused = null;
  else if (r.t !== "created") state.ended = r;
}
