import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { CanceledError, DeviceError } from "../../errors.js";
import { RealClock, type Clock } from "../clock.js";
import type { Frame } from "./types.js";

/** Raw pixel formats a camera subprocess may write to stdout. */
export type RawFormat = "gray8" | "gray16le" | "i420";

/**
 * Byte layout of one frame on the pipe. Only the luma (Y) plane is read; for I420 the U and V
 * planes that follow it are skipped. Rows may be padded: `strideBytes` is the distance between
 * row starts (rpicam's yuv420 pads rows to 64 bytes, GStreamer to 4).
 */
export interface FrameLayout {
  format: RawFormat;
  /** Visible pixels per row. */
  width: number;
  height: number;
  /** Bytes between row starts of the luma plane; default tightly packed. */
  strideBytes?: number;
  /** Bytes per whole frame (all planes); default: I420 with chroma stride = stride/2, or height × stride. */
  frameBytes?: number;
  /** Significant bits for gray16le (10, 12, 16); default 16, or 8 for 8-bit formats. */
  bitDepth?: number;
}

export interface ResolvedLayout extends Required<FrameLayout> {
  bytesPerPixel: 1 | 2;
}

export function resolveLayout(layout: FrameLayout): ResolvedLayout {
  const bytesPerPixel = layout.format === "gray16le" ? 2 : 1;
  const strideBytes = layout.strideBytes ?? layout.width * bytesPerPixel;
  if (!(layout.width > 0 && layout.height > 0) || strideBytes < layout.width * bytesPerPixel) {
    throw new RangeError(`bad frame layout ${layout.width}x${layout.height} stride ${strideBytes}`);
  }
  const chroma = layout.format === "i420" ? 2 * Math.ceil(strideBytes / 2) * Math.ceil(layout.height / 2) : 0;
  const frameBytes = layout.frameBytes ?? strideBytes * layout.height + chroma;
  if (frameBytes < strideBytes * (layout.height - 1) + layout.width * bytesPerPixel) {
    throw new RangeError(`frameBytes ${frameBytes} too small for the luma plane`);
  }
  const bitDepth = layout.bitDepth ?? (bytesPerPixel === 2 ? 16 : 8);
  return { ...layout, strideBytes, frameBytes, bitDepth, bytesPerPixel };
}

/** Copies the visible luma rows of one raw frame into a tightly packed grayscale array (little-endian host). */
export function extractGray(raw: Uint8Array, layout: ResolvedLayout): Uint8Array | Uint16Array {
  const rowBytes = layout.width * layout.bytesPerPixel;
  const out = layout.bytesPerPixel === 2 ? new Uint16Array(layout.width * layout.height) : new Uint8Array(rowBytes * layout.height);
  const bytes = new Uint8Array(out.buffer);
  for (let y = 0; y < layout.height; y++) {
    const start = y * layout.strideBytes;
    bytes.set(raw.subarray(start, start + rowBytes), y * rowBytes);
  }
  return out;
}

/** A frame from the stream, with its sequence number (frames counted since start, across restarts). */
export interface StreamFrame extends Frame {
  seq: number;
  /** Clock time (ms) at which the frame's last byte arrived. */
  arrivalMs: number;
}

export type StreamEvent =
  | { type: "spawn"; pid: number; attempt: number }
  | { type: "exit"; code: number | null; signal: NodeJS.Signals | null; stderr: string }
  | { type: "restart"; attempt: number; delayMs: number }
  | { type: "failed"; error: DeviceError }
  | { type: "warning"; message: string };

export interface RestartPolicy {
  /** Restarts allowed in a row before giving up (the count resets after `stableMs` of uptime). */
  maxRestarts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** A process that ran this long before dying counts as healthy: the back-off starts over. */
  stableMs: number;
}

export interface StreamReaderOptions {
  /** Device name used in errors and events, e.g. "camera". */
  device?: string;
  command: string;
  /** Passed as an argument array: no shell is ever involved. */
  args: readonly string[];
  layout: FrameLayout;
  /** Nominal frame rate of the process; sets the frame interval used by the exposure estimate. */
  fps: number;
  /** Exposure time; default one frame interval. */
  exposureUs?: number;
  /** Extra delay between end of exposure and the frame reaching the pipe (ISP, buffering). */
  latencyMs?: number;
  restart?: Partial<RestartPolicy>;
  /** Time allowed for the first frame after `start()`. */
  startTimeoutMs?: number;
  /** A `nextFrame` still waiting after this long rejects with DeviceError. */
  frameTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on `stop()`. */
  killTimeoutMs?: number;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: StreamEvent) => void;
}

interface Waiter {
  notBeforeMs: number;
  resolve: (frame: StreamFrame) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 250, maxDelayMs: 8000, stableMs: 10_000 };
const STDERR_TAIL = 2000;
const PIPE_DRAIN_MS = 250;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/**
 * Reads fixed-size raw frames from a camera subprocess's stdout and keeps only the newest one.
 *
 * - The pipe is always drained: a slow consumer never stalls the producer; frames nobody asked
 *   for are dropped, so memory stays at two frame buffers.
 * - Fresh frames: each frame's exposure start is estimated conservatively as
 *   `arrival − (frame interval + exposure + latencyMs)` (a frame is read out over at most one
 *   interval after its exposure, then handed over after the pipeline latency). `nextFrame()`
 *   resolves with the first frame whose estimated exposure start is at or after the call, and
 *   `timestampMs` is that estimate. Overestimating the delay only costs a frame of waiting.
 * - When the process dies it is restarted with exponential back-off; after `maxRestarts`
 *   failures in a row the reader fails: pending and later `nextFrame()` calls reject with DeviceError.
 * - `stop()` sends SIGTERM, then SIGKILL after `killTimeoutMs`, and resolves once the child has
 *   exited (no zombie) and every listener is removed.
 */
export class StreamReader {
  readonly layout: ResolvedLayout;
  private readonly opts: StreamReaderOptions;
  private readonly policy: RestartPolicy;
  private readonly clock: Clock;
  private readonly device: string;
  private child: Child | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private assembling: Uint8Array;
  private newest: Uint8Array;
  private filled = 0;
  private newestSeq = 0;
  private newestArrivalMs = 0;
  private received = 0;
  private delivered = 0;
  private stderrTail = "";
  private attempt = 0;
  private spawnedAtMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private waiters = new Set<Waiter>();
  private running = false;
  private failure: DeviceError | undefined;
  private firstFrame: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(options: StreamReaderOptions) {
    this.opts = options;
    this.layout = resolveLayout(options.layout);
    this.policy = { ...DEFAULT_RESTART, ...options.restart };
    this.clock = options.clock ?? new RealClock();
    this.device = options.device ?? "camera";
    this.assembling = new Uint8Array(this.layout.frameBytes);
    this.newest = new Uint8Array(this.layout.frameBytes);
  }

  /** Estimated time from exposure start to arrival of a frame's last byte. */
  get exposureToArrivalMs(): number {
    const intervalMs = 1000 / this.opts.fps;
    const exposureMs = this.opts.exposureUs !== undefined ? this.opts.exposureUs / 1000 : intervalMs;
    return intervalMs + exposureMs + (this.opts.latencyMs ?? 0);
  }

  /** Process id of the current child, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Frames read off the pipe, frames handed to callers, and the rest (dropped as stale or unrequested). */
  stats(): { received: number; delivered: number; dropped: number; bufferedBytes: number } {
    return {
      received: this.received,
      delivered: this.delivered,
      dropped: this.received - this.delivered,
      bufferedBytes: this.assembling.byteLength + this.newest.byteLength,
    };
  }

  /** Spawns the process and resolves at its first frame; rejects with DeviceError if it never comes. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.failure = undefined;
    this.attempt = 0;
    const first = new Promise<void>((resolve, reject) => (this.firstFrame = { resolve, reject }));
    const timeoutMs = this.opts.startTimeoutMs ?? 10_000;
    const timer = setTimeout(
      () => this.firstFrame?.reject(new DeviceError(`${this.opts.command}: no frame within ${timeoutMs} ms${this.stderrSuffix()}`, this.device)),
      timeoutMs,
    );
    this.spawnChild();
    try {
      await first;
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
      this.firstFrame = undefined;
    }
  }

  /** The first frame whose exposure began at or after this call (see class doc). */
  nextFrame(signal?: AbortSignal): Promise<StreamFrame> {
    if (signal?.aborted) return Promise.reject(new CanceledError());
    if (this.failure) return Promise.reject(this.failure);
    if (!this.running) return Promise.reject(new DeviceError(`${this.device} is not started`, this.device));
    return new Promise<StreamFrame>((resolve, reject) => {
      const timeoutMs = this.opts.frameTimeoutMs ?? 10_000;
      const timer = setTimeout(
        () => waiter.reject(new DeviceError(`${this.device}: no fresh frame within ${timeoutMs} ms${this.stderrSuffix()}`, this.device)),
        timeoutMs,
      );
      const onAbort = () => waiter.reject(new CanceledError());
      const waiter: Waiter = {
        notBeforeMs: this.clock.nowMs(),
        resolve: (frame) => {
          waiter.cleanup();
          resolve(frame);
        },
        reject: (error) => {
          waiter.cleanup();
          reject(error);
        },
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.waiters.delete(waiter);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** The newest complete frame, whatever its age (for previews); undefined before the first one. */
  latestFrame(): StreamFrame | undefined {
    return this.newestSeq > 0 ? this.buildFrame() : undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const stopped = new DeviceError(`${this.device} stopped`, this.device);
    this.firstFrame?.reject(stopped);
    this.rejectAll(stopped);
    const child = this.child;
    if (!child) return;
    const exited = this.childExited;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killTimer = setTimeout(() => child.kill("SIGKILL"), this.opts.killTimeoutMs ?? 2000);
      await exited;
      clearTimeout(killTimer);
    } else {
      await exited;
    }
  }

  private spawnChild(): void {
    this.filled = 0;
    this.stderrTail = "";
    this.spawnedAtMs = this.clock.nowMs();
    const child = spawn(this.opts.command, this.opts.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: this.opts.env ?? process.env,
    });
    this.child = child;
    const onData = (chunk: Buffer) => this.onData(chunk);
    const onStderr = (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onStderr);
    let spawnError: Error | undefined;
    const onError = (error: Error) => (spawnError = error);
    child.on("error", onError);
    this.childExited = new Promise<void>((resolve) => {
      // 'close' waits for the pipes too; a grandchild holding them open gets a short grace period.
      let drainTimer: NodeJS.Timeout | undefined;
      child.once("exit", () => {
        drainTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, PIPE_DRAIN_MS);
      });
      child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(drainTimer);
        child.stdout.off("data", onData);
        child.stderr.off("data", onStderr);
        child.off("error", onError);
        if (this.child === child) this.child = undefined;
        resolve();
        this.onExit(code, signal, spawnError);
      });
    });
    if (child.pid !== undefined) this.opts.onEvent?.({ type: "spawn", pid: child.pid, attempt: this.attempt });
  }

  private onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.layout.frameBytes - this.filled);
      this.assembling.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.layout.frameBytes) this.completeFrame();
    }
  }

  private completeFrame(): void {
    [this.assembling, this.newest] = [this.newest, this.assembling];
    this.filled = 0;
    this.received++;
    this.newestSeq = this.received;
    this.newestArrivalMs = this.clock.nowMs();
    this.firstFrame?.resolve();
    const exposureStartMs = this.newestArrivalMs - this.exposureToArrivalMs;
    const ready = [...this.waiters].filter((waiter) => exposureStartMs >= waiter.notBeforeMs);
    if (ready.length > 0) this.delivered++;
    for (const waiter of ready) waiter.resolve(this.buildFrame());
  }

  private buildFrame(): StreamFrame {
    return {
      data: extractGray(this.newest, this.layout),
      width: this.layout.width,
      height: this.layout.height,
      bitDepth: this.layout.bitDepth,
      timestampMs: this.newestArrivalMs - this.exposureToArrivalMs,
      arrivalMs: this.newestArrivalMs,
      seq: this.newestSeq,
    };
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): void {
    const stderr = this.stderrTail.trim();
    this.opts.onEvent?.({ type: "exit", code, signal, stderr });
    if (!this.running) return;
    const why = spawnError
      ? `${this.opts.command} could not be started (${spawnError.message})`
      : `${this.opts.command} exited (${signal ?? `code ${code}`})${this.stderrSuffix()}`;
    if (this.firstFrame || spawnError) return this.fail(new DeviceError(why, this.device, { cause: spawnError }));
    if (this.clock.nowMs() - this.spawnedAtMs >= this.policy.stableMs) this.attempt = 0;
    if (this.attempt >= this.policy.maxRestarts) {
      return this.fail(new DeviceError(`${why}; gave up after ${this.attempt} restarts`, this.device));
    }
    this.attempt++;
    const delayMs = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** (this.attempt - 1));
    this.opts.onEvent?.({ type: "restart", attempt: this.attempt, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) this.spawnChild();
    }, delayMs);
  }

  private fail(error: DeviceError): void {
    this.failure = error;
    this.running = false;
    this.firstFrame?.reject(error);
    this.rejectAll(error);
    this.opts.onEvent?.({ type: "failed", error });
  }

  private rejectAll(error: Error): void {
    for (const waiter of [...this.waiters]) waiter.reject(error);
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.trim().split("\n").slice(-3).join(" | ");
    return tail ? `: ${tail}` : "";
  }
}
