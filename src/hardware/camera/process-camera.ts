import { spawn } from "node:child_process";
import { CanceledError, DeviceError } from "../../errors.js";
import type { Clock } from "../clock.js";
import { StreamReader, type FrameLayout, type RestartPolicy, type StreamEvent } from "./stream-reader.js";
import type { Camera, CameraInfo, Frame } from "./types.js";

/** Options every subprocess camera shares (the backend supplies command, args and layout). */
export interface ProcessCameraCommon {
  fps: number;
  exposureUs?: number;
  /** Pipeline delay added to the fresh-frame estimate (see StreamReader). */
  latencyMs?: number;
  pixelSizeUm?: number;
  restart?: Partial<RestartPolicy>;
  startTimeoutMs?: number;
  frameTimeoutMs?: number;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: StreamEvent) => void;
}

export interface ProcessCameraSpec extends ProcessCameraCommon {
  kind: string;
  command: string;
  args: readonly string[];
  layout: FrameLayout;
}

/** A Camera backed by a long-running subprocess that writes raw frames to stdout. */
export class ProcessCamera implements Camera {
  readonly info: CameraInfo;
  protected readonly reader: StreamReader;
  private started = false;

  constructor(spec: ProcessCameraSpec) {
    this.reader = new StreamReader({ ...spec, device: `camera (${spec.kind})` });
    const { width, height, bitDepth } = this.reader.layout;
    this.info = { kind: spec.kind, width, height, bitDepth, pixelSizeUm: spec.pixelSizeUm };
  }

  async start(): Promise<void> {
    await this.reader.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.reader.stop();
  }

  async grab(signal?: AbortSignal): Promise<Frame> {
    if (!this.started) throw new DeviceError(`camera (${this.info.kind}) is not started`, "camera");
    const { data, width, height, bitDepth, timestampMs } = await this.reader.nextFrame(signal);
    return { data, width, height, bitDepth, timestampMs };
  }

  /** The newest frame regardless of age (previews); undefined before the first frame. */
  latestFrame(): Frame | undefined {
    return this.reader.latestFrame();
  }

  /** Pid of the streaming process (diagnostics, tests). */
  get pid(): number | undefined {
    return this.reader.pid;
  }
}

/**
 * Runs a short-lived command (argument array, no shell) to completion; rejects with DeviceError
 * on a non-zero exit, a spawn failure or a timeout, with CanceledError on abort (the process is then killed).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new CanceledError());
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
    let output = "";
    const collect = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000));
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    const onAbort = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (options.signal?.aborted) return reject(new CanceledError());
      if (code === 0) return resolve(output);
      const why = spawnError ? `could not be started (${spawnError.message})` : signal ? `killed (${signal})` : `exited with code ${code}`;
      const tail = output.trim().split("\n").slice(-3).join(" | ");
      reject(new DeviceError(`${command} ${why}${tail ? `: ${tail}` : ""}`, "camera", { cause: spawnError }));
    });
  });
}
