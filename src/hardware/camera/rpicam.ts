import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGrayImage } from "../../image/codec.js";
import { ProcessCamera, runCommand, type ProcessCameraCommon } from "./process-camera.js";
import type { Frame } from "./types.js";

/**
 * Raspberry Pi CSI camera through rpicam-apps, spawned directly with argument arrays.
 * Streaming: `rpicam-vid --codec yuv420 -o -` writes I420 frames whose luma rows are padded to a
 * multiple of 64 bytes (chroma rows to half that); the Y plane is the grayscale frame.
 * Captures: `rpicam-still` at full sensor resolution (PNG), run while the stream is paused
 * because libcamera gives the camera to one process at a time.
 * Exposure, analogue gain and white-balance gains are fixed; denoise and sharpening are off.
 */
export interface RpicamOptions extends ProcessCameraCommon {
  width: number;
  height: number;
  exposureUs: number;
  gain: number;
  /** Red and blue white-balance gains (fixed: no auto white balance). */
  awbGains?: [number, number];
  /** Camera index for multi-camera boards (`--camera`). */
  cameraIndex?: number;
  tuningFile?: string;
  vidCommand?: string;
  stillCommand?: string;
  /** Still size; default the full sensor resolution. */
  stillWidth?: number;
  stillHeight?: number;
  /** Luma row stride in bytes; default width rounded up to 64. */
  strideBytes?: number;
  /** Extra arguments appended to both commands (escape hatch). */
  extraArgs?: string[];
}

export const RPICAM_STRIDE_ALIGN = 64;

export function rpicamStride(width: number): number {
  return Math.ceil(width / RPICAM_STRIDE_ALIGN) * RPICAM_STRIDE_ALIGN;
}

/** Arguments both rpicam-vid and rpicam-still take: manual exposure/gain/white balance, no denoise or sharpening. */
function imagingArgs(o: RpicamOptions): string[] {
  const [red, blue] = o.awbGains ?? [1, 1];
  return [
    ...(o.cameraIndex !== undefined ? ["--camera", String(o.cameraIndex)] : []),
    ...(o.tuningFile ? ["--tuning-file", o.tuningFile] : []),
    "--shutter", String(Math.round(o.exposureUs)),
    "--gain", String(o.gain),
    "--awbgains", `${red},${blue}`,
    "--denoise", "off",
    "--sharpness", "0",
    "-n",
  ];
}

export function rpicamVidArgs(o: RpicamOptions): string[] {
  return [
    "--codec", "yuv420", "-o", "-", "--flush",
    "--width", String(o.width), "--height", String(o.height),
    "--framerate", String(o.fps),
    "-t", "0",
    ...imagingArgs(o),
    ...(o.extraArgs ?? []),
  ];
}

export function rpicamStillArgs(o: RpicamOptions, output: string): string[] {
  const size = o.stillWidth && o.stillHeight ? ["--width", String(o.stillWidth), "--height", String(o.stillHeight)] : [];
  return ["--immediate", "-e", "png", "-o", output, ...size, ...imagingArgs(o), ...(o.extraArgs ?? [])];
}

export class RpicamCamera extends ProcessCamera {
  private readonly options: RpicamOptions;

  constructor(options: RpicamOptions) {
    super({
      ...options,
      kind: "rpicam",
      command: options.vidCommand ?? "rpicam-vid",
      args: rpicamVidArgs(options),
      layout: { format: "i420", width: options.width, height: options.height, strideBytes: options.strideBytes ?? rpicamStride(options.width) },
    });
    this.options = options;
  }

  /**
   * A full-resolution still. The stream is paused for it and resumed afterwards; the exposure
   * begins after the call, so `timestampMs` (the time rpicam-still was started) is a lower bound.
   */
  async captureStill(signal?: AbortSignal): Promise<Frame> {
    const clock = this.options.clock;
    await this.stop();
    const dir = await mkdtemp(join(tmpdir(), "focusbox-still-"));
    try {
      const file = join(dir, "still.png");
      const startedMs = clock ? clock.nowMs() : performance.now();
      await runCommand(this.options.stillCommand ?? "rpicam-still", rpicamStillArgs(this.options, file), {
        timeoutMs: 30_000,
        env: this.options.env,
        signal,
      });
      const frame = await readGrayImage(file);
      return { ...frame, timestampMs: startedMs };
    } finally {
      await rm(dir, { recursive: true, force: true });
      await this.start();
    }
  }
}
