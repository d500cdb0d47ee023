import { throwIfAborted } from "../../errors.js";
import type { ReplayStage } from "../stage/replay.js";
import type { ZStack } from "../zstack.js";
import type { Camera, CameraInfo, Frame } from "./types.js";

/**
 * Camera over a recorded z-stack: returns the plane at the replay stage's z, linearly
 * interpolated between the two nearest planes (clamped at the ends).
 */
export class ReplayCamera implements Camera {
  readonly info: CameraInfo;
  private frameCount = 0;

  constructor(private readonly stack: ZStack, private readonly stage: ReplayStage) {
    const first = stack.planes[0].frame;
    this.info = { kind: "replay", width: first.width, height: first.height, bitDepth: first.bitDepth, pixelSizeUm: stack.manifest.pixelSizeUm };
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async grab(signal?: AbortSignal): Promise<Frame> {
    throwIfAborted(signal);
    return { ...interpolatePlane(this.stack, this.stage.positionUm()), timestampMs: this.frameCount++ };
  }
}

/** The stack's image at `zUm`: linear blend of the two nearest planes, clamped at the ends. */
export function interpolatePlane(stack: ZStack, zUm: number): Frame {
  const planes = stack.planes;
  let hi = planes.findIndex((p) => p.zUm >= zUm);
  if (hi <= 0) return planes[hi === 0 ? 0 : planes.length - 1].frame;
  const a = planes[hi - 1];
  const b = planes[hi];
  const t = (zUm - a.zUm) / (b.zUm - a.zUm);
  if (t < 1e-6) return a.frame;
  if (t > 1 - 1e-6) return b.frame;
  const src0 = a.frame.data;
  const src1 = b.frame.data;
  const out = src0 instanceof Uint8Array ? new Uint8Array(src0.length) : new Uint16Array(src0.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(src0[i] * (1 - t) + src1[i] * t);
  return { ...a.frame, data: out };
}
