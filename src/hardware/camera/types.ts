/**
 * Camera contract. Every backend (simulated, replay, rpicam, gstreamer, v4l2) implements it.
 *
 * Rules:
 * - `grab()` returns a frame whose exposure began after the call started, never one exposed
 *   while the stage was still moving (callers move, await the move, then grab).
 * - Frames are grayscale, row-major, tightly packed (`data.length === width * height`).
 * - `start()` opens the device / spawns the process; constructors do no I/O.
 */
export interface Frame {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  /** Significant bits per pixel: 8, 10, 12 or 16 (values lie in [0, 2^bitDepth - 1]). */
  bitDepth: number;
  /** Clock time (ms) at which the exposure began. */
  timestampMs: number;
}

export interface CameraInfo {
  /** Backend id, e.g. "simulated", "replay", "rpicam". */
  kind: string;
  width: number;
  height: number;
  bitDepth: number;
  /** Sample-plane pixel size (camera pixel / magnification), when known. */
  pixelSizeUm?: number;
  /** The flat-field file the frames are divided by (`camera.flatField`), when configured. */
  flatField?: string;
}

export interface Camera {
  readonly info: CameraInfo;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A fresh frame (exposure began after this call). Rejects with CanceledError on abort, DeviceError on failure. */
  grab(signal?: AbortSignal): Promise<Frame>;
}
