import { DeviceError, throwIfAborted } from "../../errors.js";
import type { ZStack } from "../zstack.js";
import type { StageBackend, StageInfo } from "./types.js";

/**
 * Continuous, slack-free stage over a recorded z-stack: moves are instant and exact, and
 * refused outside the recorded range (there is no image to show there).
 */
export class ReplayStage implements StageBackend {
  readonly info: StageInfo = { kind: "replay", resolutionUm: 0 };
  private zUm: number;

  constructor(private readonly stack: ZStack, startUm?: number) {
    this.zUm = startUm ?? stack.manifest.focusUm ?? stack.planes[0].zUm;
  }

  get rangeUm(): { minUm: number; maxUm: number } {
    return { minUm: this.stack.planes[0].zUm, maxUm: this.stack.planes[this.stack.planes.length - 1].zUm };
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async moveTo(zUm: number, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const { minUm, maxUm } = this.rangeUm;
    if (!(zUm >= minUm && zUm <= maxUm))
      throw new DeviceError(`z=${zUm.toFixed(2)} µm is outside the recorded stack [${minUm}, ${maxUm}] µm`, "stage");
    this.zUm = zUm;
  }

  positionUm(): number {
    return this.zUm;
  }

  async setPositionUm(): Promise<void> {
    throw new DeviceError("a replay stage cannot redefine its position: stack z values are fixed", "stage");
  }

  async halt(): Promise<void> {}
}
