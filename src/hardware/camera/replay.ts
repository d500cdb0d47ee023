import { throwIfAborted } from "../../errors.js";
import { hashInts, Rng } from "../../optics/rng.js";
import type { ReplayStage } from "../stage/replay.js";
import type { ZStack } from "../zstack.js";
import { stackNoiseLevel } from "./stack-noise.js";
import type { Camera, CameraInfo, Frame } from "./types.js";

/**
 * Camera over a recorded z-stack: returns the plane at the replay stage's z, interpolated
 * between the two nearest planes with the noise of a real frame (`interpolatePlane`).
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

/**
 * The stack's image at `zUm`, clamped at the ends. Between two planes: their linear blend plus
 * the noise that blending averaged away. A blend (1 − t)·a + t·b of two exposures keeps only
 * (1 − t)² + t² of their noise variance (half of it midway), so without this a frame between
 * planes would be less noisy than any real frame, and a focus metric that measures noise far
 * from focus (Tenengrad, HPF) would peak on the planes themselves. The missing variance
 * 2t(1 − t)·σ²(I) is added as Gaussian noise with the stack's own noise level function
 * (`stackNoiseLevel`), seeded by z: the same position always gives the same frame.
 */
export function interpolatePlane(stack: ZStack, zUm: number): Frame {
  const planes = stack.planes;
  let hi = planes.findIndex((p) => p.zUm >= zUm);
  if (hi <= 0) return planes[hi === 0 ? 0 : planes.length - 1].frame;
  const a = planes[hi - 1];
  const b = planes[hi];
  const t = (zUm - a.zUm) / (b.zUm - a.zUm);
  if (t < 1e-6) return a.frame;
  if (t > 1 - 1e-6) return b.frame;
  const { gainDn, readVarianceDn2 } = stackNoiseLevel(stack);
  const lost = 2 * t * (1 - t);
  const rng = new Rng(hashInts(Math.round(zUm * 1000), 0x7e91));
  const full = (1 << a.frame.bitDepth) - 1;
  const src0 = a.frame.data;
  const src1 = b.frame.data;
  const out = src0 instanceof Uint8Array ? new Uint8Array(src0.length) : new Uint16Array(src0.length);
  for (let i = 0; i < out.length; i++) {
    const blend = src0[i] * (1 - t) + src1[i] * t;
    const sd = Math.sqrt(lost * Math.max(0, gainDn * blend + readVarianceDn2));
    out[i] = Math.min(full, Math.max(0, Math.round(blend + sd * rng.normal())));
  }
  return { ...a.frame, data: out };
}
