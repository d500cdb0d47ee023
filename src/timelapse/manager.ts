import { EventEmitter } from "node:events";
import { appendFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BusyError, CanceledError, ConfigError } from "../errors.js";
import { cameraRefocus, type RefocusSource } from "../refocus/index.js";
import { compactTimestamp } from "../station/operations.js";
import type { Station } from "../station/station.js";
import { configuredDeepFocus, focusPoint, type DeepFocusSource } from "./focus.js";
import { dueMs, scheduleJob, timelapseRequestSchema, type TimelapseJob, type TimelapseRequestInput } from "./job.js";
import { apply, Journal, replay, type JournalRecord, type JournalState, type PointFocus } from "./journal.js";
import { DiskFullError, frameBase, FrameStore, nodeFs, syncDir, type StorageFs } from "./storage.js";

export interface TimelapseOptions {
  /** Where jobs live (one directory each); default `<stateDir>/timelapse`. */
  dir?: string;
  /** DeepFocus scorer and profiles for the deepfocus/tracking policies; default the configured model, loaded on first use. */
  deepfocus?: DeepFocusSource;
  /** Digital refocus for the "refocus" policy; default the configured refocus model, loaded on first use. */
  refocus?: RefocusSource;
  /** File-system boundary of image storage (tests inject ENOSPC here). */
  fs?: StorageFs;
  /** Wall time (epoch ms); default the wall clock, advancing with the station's clock. */
  nowMs?: () => number;
}

export type TimelapseState = "idle" | "running" | "paused" | "stopped" | "finished";

/** One point of the focus-over-time plot. */
export interface FocusSample {
  index: number;
  atMs: number;
  focusUm: number;
  images: number;
  mode?: string;
  /** Focus set by the fallback metric's own peak, unconfirmed by DeepFocus. */
  unconfirmed?: true;
  error?: string;
}

export interface TimelapseStatus {
  state: TimelapseState;
  id: string | null;
  job: TimelapseJob | null;
  done: number;
  missed: number;
  /** Next frame index without a record. */
  nextIndex: number;
  nextDueAt: string | null;
  /** Why the job is paused, or the last point's failure. */
  error: string | null;
  missedRanges: { from: number; to: number; reason: string }[];
  latest: { index: number; files: string[]; zUm: number[]; at: string } | null;
  /** Focus position per captured point (the newest FOCUS_SAMPLES). */
  focus: FocusSample[];
  /** Mean autofocus images per captured point. */
  imagesPerPoint: number | null;
}

/** Events: `status` (TimelapseStatus) after every journal record; `frame` after each image is stored. */
export interface TimelapseEvents {
  status: [TimelapseStatus];
  frame: [{ index: number; plane: number; file: string; zUm: number; focus: PointFocus }];
}

const FOCUS_SAMPLES = 5000;

type Active = { state: JournalState; journal: Journal; store: FrameStore; dir: string; abort: AbortController; loop: Promise<void> };

/**
 * Runs at most one timelapse job at a time on a station: each point goes through the station's
 * operation lock (autofocus by the job's policy, then the planes), is stored atomically and
 * then committed to the job's journal. `start()` resumes an unfinished job after a crash or
 * reboot: uncommitted files are removed, the points that fell due meanwhile are recorded as
 * missed, and the job continues at the next due point. A full disk pauses the job.
 */
export class TimelapseManager {
  readonly events = new EventEmitter<TimelapseEvents>();
  readonly dir: string;
  private readonly fs: StorageFs;
  private readonly deepfocus: DeepFocusSource;
  private readonly refocus: RefocusSource;
  private readonly nowMs: () => number;
  private active: Active | null = null;
  private last: JournalState | null = null;
  private error: string | null = null;
  private lateCause: string | null = null;
  private lastFocusUm: number | null = null;
  private pointBytes = 0;
  private inPoint = false;

  constructor(
    readonly station: Station,
    options: TimelapseOptions = {},
  ) {
    this.dir = options.dir ?? join(station.config.stateDir, "timelapse");
    this.fs = options.fs ?? nodeFs;
    this.deepfocus = options.deepfocus ?? configuredDeepFocus(station.config);
    this.refocus = options.refocus ?? cameraRefocus(station.config, station.devices.camera.info.pixelSizeUm);
    const anchor = Date.now() - station.clock.nowMs();
    this.nowMs = options.nowMs ?? (() => anchor + station.clock.nowMs());
  }

  /** Loads the newest job; resumes it when it has not ended (one whose creation never reached the journal is removed). */
  async start(): Promise<void> {
    const ids = (await readdir(this.dir).catch(() => [] as string[])).sort();
    const id = ids.at(-1);
    if (id === undefined) return;
    const dir = join(this.dir, id);
    const { journal, records } = await Journal.open(join(dir, "journal.jsonl"));
    if (records.length === 0) {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
      return;
    }
    const state = replay(records);
    if (state.ended) {
      await journal.close();
      this.last = state;
      return;
    }
    this.lateCause = `not captured: focusbox was not running (crash, power loss or restart before ${new Date(this.nowMs()).toISOString()})`;
    await this.resume(state, journal, dir);
  }

  /** Creates and starts a job. @throws ConfigError for an invalid request, BusyError while a job runs. */
  async create(input: TimelapseRequestInput): Promise<TimelapseStatus> {
    const parsed = timelapseRequestSchema.safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
      throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
    }
    if (this.active) throw new BusyError("timelapse");
    const now = this.nowMs();
    const id = `${compactTimestamp(new Date(now))}${parsed.data.name ? `-${parsed.data.name}` : ""}`;
    const job = scheduleJob(id, parsed.data, now);
    if (job.total < 1) throw new ConfigError("endAt: the job would have no point (endAt is in the past)", [{ path: "endAt", message: "in the past" }]);
    const dir = join(this.dir, id);
    await this.fs.mkdir(dir, { recursive: true });
    const { journal } = await Journal.open(join(dir, "journal.jsonl"));
    await journal.append({ t: "created", job });
    await syncDir(this.fs, dir);
    await syncDir(this.fs, this.dir);
    this.lastFocusUm = null;
    this.error = null;
    this.lateCause = null;
    await this.resume(replay([{ t: "created", job }]), journal, dir);
    return this.status();
  }

  /** Stops the running job for good (journaled); a point in progress is cancelled and not recorded. */
  async stop(reason = "stopped by user"): Promise<TimelapseStatus> {
    const a = this.active;
    if (!a) return this.status();
    await this.halt(a);
    if (a.state.ended) return this.status();
    await this.record(a, { t: "stopped", reason, atMs: this.nowMs() });
    await this.finishActive(a);
    return this.status();
  }

  /** Shutdown: halts the loop without ending the job, so the next `start()` resumes it. */
  async close(): Promise<void> {
    const a = this.active;
    if (a) {
      await this.halt(a);
      await this.finishActive(a);
    }
    await this.deepfocus.close();
    await this.refocus.close();
  }

  /** Resolves when the running job's loop has exited (finished, stopped or closed). */
  async settled(): Promise<void> {
    await this.active?.loop;
  }

  status(): TimelapseStatus {
    const s = this.active?.state ?? this.last;
    if (!s) return { state: "idle", id: null, job: null, done: 0, missed: 0, nextIndex: 0, nextDueAt: null, error: null, missedRanges: [], latest: null, focus: [], imagesPerPoint: null };
    const state: TimelapseState = s.ended ? (s.ended.t === "finished" ? "finished" : "stopped") : s.paused ? "paused" : "running";
    const latest = s.done.at(-1);
    const images = s.done.reduce((n, d) => n + d.focus.images, 0);
    return {
      state,
      id: s.job.id,
      job: s.job,
      done: s.done.length,
      missed: s.missed,
      nextIndex: s.nextIndex,
      nextDueAt: state === "running" || state === "paused" ? new Date(dueMs(s.job, s.nextIndex)).toISOString() : null,
      error: s.paused ?? this.error,
      missedRanges: s.missedRanges.map(({ from, to, reason }) => ({ from, to, reason })),
      latest: latest ? { index: latest.index, files: latest.files, zUm: latest.zUm, at: new Date(latest.atMs).toISOString() } : null,
      focus: s.done.slice(-FOCUS_SAMPLES).map((d) => ({ index: d.index, atMs: d.atMs, focusUm: d.focus.focusUm, images: d.focus.images, mode: d.focus.mode, unconfirmed: d.focus.unconfirmed, error: d.focus.error })),
      imagesPerPoint: s.done.length ? images / s.done.length : null,
    };
  }

  /** Absolute path of a stored file of the current or last job (names come from the journal only). */
  filePath(file: string): string | null {
    const s = this.active?.state ?? this.last;
    if (!s || !s.done.some((d) => d.files.includes(file) || d.files.some((f) => f.replace(/\.png$/, ".json") === file))) return null;
    return join(this.dir, s.job.id, file);
  }

  private async resume(state: JournalState, journal: Journal, dir: string): Promise<void> {
    const store = new FrameStore(dir, this.fs);
    await store.init();
    await store.removeUncommitted((i) => i >= state.nextIndex);
    await writeFile(join(dir, "focus.jsonl"), state.done.map((d) => focusLine(d)).join(""));
    const lastDone = state.done.at(-1);
    this.lastFocusUm = lastDone && !lastDone.focus.error ? lastDone.focus.focusUm : null;
    const abort = new AbortController();
    const a: Active = { state, journal, store, dir, abort, loop: Promise.resolve() };
    this.active = a;
    this.last = null;
    a.loop = this.loop(a);
    this.emitStatus();
  }

  private async halt(a: Active): Promise<void> {
    a.abort.abort();
    if (this.inPoint && this.station.status().operation === "timelapse") await this.station.cancel();
    await a.loop;
  }

  private async finishActive(a: Active): Promise<void> {
    await a.journal.close();
    if (this.active === a) {
      this.last = a.state;
      this.active = null;
    }
    this.emitStatus();
  }

  private async loop(a: Active): Promise<void> {
    const signal = a.abort.signal;
    try {
      while (!signal.aborted && a.state.nextIndex < a.state.job.total) {
        if (!(await this.step(a))) return;
      }
      if (!signal.aborted) await this.recordRetrying(a, { t: "finished", atMs: this.nowMs() });
    } catch (err) {
      if (!(err instanceof CanceledError)) {
        this.error = `timelapse loop failed: ${(err as Error).message}`;
        this.emitStatus();
      }
      return;
    }
    if (!signal.aborted && a.state.ended) await this.finishActive(a);
  }

  /**
   * One pass of the loop (a point, or missed points, or a pause). A journal write that fails
   * (disk full, I/O error) does not end the job: nothing of the pass is committed, its
   * uncommitted files are removed, the status shows the error, and the pass is retried after
   * a back-off; points that fall due meanwhile are recorded as missed with that cause.
   * Returns false on shutdown.
   */
  private async step(a: Active): Promise<boolean> {
    const { job } = a.state;
    const { intervalMs } = job.request;
    const signal = a.abort.signal;
    try {
      const i = a.state.nextIndex;
      const due = dueMs(job, i);
      const now = this.nowMs();
      if (now > due + job.lateToleranceMs) {
        const last = Math.min(job.total - 1, Math.floor((now - job.lateToleranceMs - job.startMs) / intervalMs));
        await this.missed(a, i, Math.max(i, last), this.lateCause ?? `late by ${Math.round(now - due)} ms (the previous point overran the interval)`);
        this.lateCause = null;
        return true;
      }
      if (now < due) await this.station.clock.sleep(due - now, signal);
      if (!(await this.diskReady(a, i))) return true;
      return (await this.point(a, i, due)) !== "shutdown";
    } catch (err) {
      if (!(err instanceof JournalWriteError)) throw err;
      await this.journalFailed(a, err);
      return true;
    }
  }

  /** `record`, retried after a back-off while the journal cannot be written. */
  private async recordRetrying(a: Active, r: JournalRecord): Promise<void> {
    for (;;) {
      try {
        return await this.record(a, r);
      } catch (err) {
        if (!(err instanceof JournalWriteError)) throw err;
        await this.journalFailed(a, err);
      }
    }
  }

  private async journalFailed(a: Active, err: JournalWriteError): Promise<void> {
    await a.store.removeUncommitted((j) => j >= a.state.nextIndex).catch(() => undefined);
    this.error = `${err.message}; retrying`;
    this.lateCause = err.message;
    this.emitStatus();
    await this.station.clock.sleep(Math.min(JOURNAL_RETRY_MS, a.state.job.request.intervalMs), a.abort.signal);
  }

  /** Free-space guard and pause/resume; false when point i was recorded as missed. */
  private async diskReady(a: Active, i: number): Promise<boolean> {
    const min = a.state.job.request.minFreeBytes;
    const free = await a.store.freeBytes();
    const low = free < min + 2 * this.pointBytes;
    if (!low && a.state.paused !== null) await this.record(a, { t: "resumed", atMs: this.nowMs() });
    if (!low) return true;
    const reason = `disk nearly full: ${mib(free)} MiB free, the job keeps ${mib(min)} MiB free (+ ${mib(2 * this.pointBytes)} MiB for the next point); paused until space is freed`;
    await this.pause(a, reason);
    await this.missed(a, i, i, `paused: ${a.state.paused}`);
    return false;
  }

  private async pause(a: Active, reason: string): Promise<void> {
    if (a.state.paused === null) await this.record(a, { t: "paused", reason, atMs: this.nowMs() });
  }

  /** Runs point i; records it as done or missed (with the reason). */
  private async point(a: Active, i: number, due: number): Promise<"done" | "missed" | "retry" | "shutdown" | "halted"> {
    const { request } = a.state.job;
    let result: { focus: PointFocus; files: string[]; zUm: number[] };
    try {
      this.inPoint = true;
      result = await this.station.runOperation("timelapse", (ctx) => this.capturePoint(a, ctx, i, due), (r) => `point ${i}: ${r.files.length} planes at ${r.focus.focusUm.toFixed(2)} µm (${r.focus.policy}, ${r.focus.images} AF images)`);
    } catch (err) {
      if (a.abort.signal.aborted) return "halted";
      if (err instanceof BusyError) {
        if (err.running === "shutdown") return "shutdown";
        this.lateCause = `station busy with ${err.running}`;
        await this.station.clock.sleep(Math.min(1000, Math.max(1, request.intervalMs / 10)), a.abort.signal);
        return "retry";
      }
      await a.store.removeUncommitted((j) => j === i);
      const reason = err instanceof CanceledError ? "cancelled by user" : `failed: ${(err as Error).message}`;
      if (err instanceof DiskFullError) await this.pause(a, `${err.message}; paused until space is freed`);
      this.error = reason;
      await this.missed(a, i, i, reason);
      return "missed";
    } finally {
      this.inPoint = false;
    }
    this.error = result.focus.error ? `autofocus failed at point ${i}: ${result.focus.error}` : null;
    if (!result.focus.error) this.lastFocusUm = result.focus.focusUm;
    await this.record(a, { t: "done", index: i, dueMs: due, atMs: this.nowMs(), ...result });
    return "done";
  }

  private async capturePoint(a: Active, ctx: Parameters<Parameters<Station["runOperation"]>[1]>[0], i: number, due: number) {
    const { request } = a.state.job;
    const focus = await focusPoint(ctx, request.autofocus, this.deepfocus, this.lastFocusUm);
    const files: string[] = [];
    const zUm: number[] = [];
    let bytes = 0;
    for (const [plane, offsetUm] of request.capture.zOffsetsUm.entries()) {
      const z = focus.focusUm + offsetUm;
      if (Math.abs(ctx.stage.positionUm() - z) > 1e-6) await ctx.stage.moveTo(z, ctx.signal);
      const grabbed = await ctx.camera.grab(ctx.signal);
      const refocused = request.autofocus.policy === "refocus" ? await (await this.refocus.get()).refocus(grabbed, ctx.signal) : null;
      const frame = refocused?.frame ?? grabbed;
      const meta = {
        job: a.state.job.id,
        index: i,
        plane,
        zUm: ctx.stage.positionUm(),
        zOffsetUm: offsetUm,
        dueAt: new Date(due).toISOString(),
        capturedAt: new Date(this.nowMs()).toISOString(),
        camera: ctx.camera.info,
        autofocus: focus,
        ...(refocused ? { refocus: refocused.info } : {}),
        ...(request.capture.note ? { note: request.capture.note } : {}),
      };
      const saved = await a.store.save(frameBase(i, plane), frame, meta);
      bytes += saved.bytes;
      files.push(saved.file);
      zUm.push(meta.zUm);
      this.events.emit("frame", { index: i, plane, file: saved.file, zUm: meta.zUm, focus });
    }
    if (Math.abs(ctx.stage.positionUm() - focus.focusUm) > 1e-6) await ctx.stage.moveTo(focus.focusUm, ctx.signal);
    this.pointBytes = bytes;
    return { focus, files, zUm };
  }

  private missed(a: Active, from: number, to: number, reason: string): Promise<void> {
    return this.record(a, { t: "missed", from, to, reason, atMs: this.nowMs() });
  }

  /** Commits a record to the journal, then applies it (and mirrors points into focus.jsonl). */
  private async record(a: Active, r: JournalRecord): Promise<void> {
    await a.journal.append(r).catch((err: Error) => {
      throw new JournalWriteError(`journal write failed: ${err.message}`);
    });
    apply(a.state, r);
    if (r.t === "done") await appendFile(join(a.dir, "focus.jsonl"), focusLine(r));
    this.emitStatus();
  }

  private emitStatus(): void {
    this.events.emit("status", this.status());
  }
}

function focusLine(d: Extract<JournalRecord, { t: "done" }>): string {
  return JSON.stringify({ index: d.index, at: new Date(d.atMs).toISOString(), zUm: d.focus.focusUm, ...d.focus }) + "\n";
}

const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** Longest wait before a failed journal write is retried (ms). */
const JOURNAL_RETRY_MS = 10_000;

/** The job's journal could not be written; nothing of the pass was committed. */
class JournalWriteError extends Error {}
