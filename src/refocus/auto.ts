import { MIN_REGION_PX, type SpectralDefocusModel } from "../focus/spectral-defocus.js";
import type { Frame } from "../hardware/camera/types.js";
import type { RefocusInfo, Refocuser } from "./types.js";
import type { WienerRefocuser } from "./wiener.js";

export interface AutoRefocuserOptions {
  /** The refocus network (owned: closed with this refocuser). */
  net: Refocuser;
  wiener: WienerRefocuser;
  model: SpectralDefocusModel;
  /** |z| (µm) from which Wiener takes over: one depth of field of the objective. */
  handoverUm: number;
}

/** Side (px) of the central region whose spectral estimate picks the method (larger frames are not read whole). */
const PICK_REGION_PX = 1024;

/**
 * "auto": the network near focus, Wiener beyond. The spectral defocus estimate of the frame's
 * central region (at most PICK_REGION_PX square) picks: below `handoverUm` (one DOF) the network,
 * which removes noise and residual blur there but does not deconvolve farther out; from there on
 * Wiener, which deconvolves (and near focus, where the estimate is least sure, could over-sharpen).
 * A frame with no signal above its noise goes to the network. `info.via` names the method used.
 */
export class AutoRefocuser implements Refocuser {
  readonly method = "auto" as const;

  constructor(private readonly opts: AutoRefocuserOptions) {}

  async refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }> {
    const t0 = performance.now();
    const w = Math.min(frame.width, PICK_REGION_PX), h = Math.min(frame.height, PICK_REGION_PX);
    const region = { x: Math.floor((frame.width - w) / 2), y: Math.floor((frame.height - h) / 2), width: w, height: h };
    const { defocusUm } = w >= MIN_REGION_PX && h >= MIN_REGION_PX ? this.opts.model.estimate(frame, region) : { defocusUm: Number.NaN };
    const wiener = defocusUm >= this.opts.handoverUm;
    const r = await (wiener ? this.opts.wiener : this.opts.net).refocus(frame, signal);
    return { frame: r.frame, info: { ...r.info, method: "auto", via: wiener ? "wiener" : "net", durationMs: performance.now() - t0 } };
  }

  async close(): Promise<void> {
    await this.opts.net.close();
  }
}
