import { median } from "../focus/stats.js";
import type { Frame } from "../hardware/camera/types.js";
import type { NetRefocuser } from "./net.js";
import type { RefocusInfo, Refocuser } from "./types.js";
import type { WienerFiltered, WienerRefocuser } from "./wiener.js";

export interface AutoRefocuserOptions {
  /** The refocus network, with a Wiener channel (owned: closed with this refocuser); its WienerRefocuser is auto's Wiener. */
  net: NetRefocuser;
  /** |z| (µm) from which Wiener takes over: one depth of field of the objective. */
  handoverUm: number;
}

/**
 * "auto": the network near focus, Wiener beyond. The frame is Wiener-filtered once
 * (wiener.ts, per-tile |z| estimates); the median of the tiles' |z| picks: below `handoverUm`
 * (one DOF) the network, given that Wiener estimate as its channel, which removes noise and
 * residual blur there; from there on the Wiener estimate itself, which deconvolves (and near
 * focus, where the estimate is least sure, could over-sharpen). A frame with no tile above its
 * noise goes to the network. `info.via` names the method used.
 */
export class AutoRefocuser implements Refocuser {
  readonly method = "auto" as const;

  private readonly wiener: WienerRefocuser;

  /** @throws RangeError when the network has no Wiener channel (the optics are unknown). */
  constructor(private readonly opts: AutoRefocuserOptions) {
    if (!opts.net.wiener) throw new RangeError("auto needs a refocus network with a Wiener channel");
    this.wiener = opts.net.wiener;
  }

  async refocus(frame: Frame, signal?: AbortSignal): Promise<{ frame: Frame; info: RefocusInfo }> {
    const t0 = performance.now();
    return this.refocusWith(frame, this.wiener.filtered(frame, signal), signal, t0);
  }

  /**
   * `refocus` with the frame's Wiener pass already done (`net.wiener.filtered(frame)`, as the
   * refocus benchmark shares it between methods); `info.durationMs` counts from `t0` (ms).
   */
  async refocusWith(frame: Frame, filtered: WienerFiltered, signal?: AbortSignal, t0 = performance.now()): Promise<{ frame: Frame; info: RefocusInfo }> {
    const estimated = filtered.defocusUm.filter(Number.isFinite);
    const useWiener = estimated.length > 0 && median(estimated) >= this.opts.handoverUm;
    const r = useWiener ? this.wiener.result(frame, filtered, t0) : await this.opts.net.refocusWith(frame, filtered, signal);
    return { frame: r.frame, info: { ...r.info, method: "auto", via: useWiener ? "wiener" : "net", durationMs: performance.now() - t0 } };
  }

  async close(): Promise<void> {
    await this.opts.net.close();
  }
}
