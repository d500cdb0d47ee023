import { DeviceError } from "../../errors.js";
import type { MoveOptions, StageBackend, StageLimits } from "./types.js";

export interface FocusStageOptions extends StageLimits {
  /** Overshoot before a final upward approach; 0 disables backlash compensation. */
  backlashUm: number;
}

/**
 * The focus axis as domain code sees it: any StageBackend plus soft limits and backlash
 * compensation. Every move ends travelling upward (+z): when the last travel was not upward,
 * the stage first goes `backlashUm` below the target, so the drive's slack is always taken
 * up on the same side and a position means the same focus whichever way it was reached.
 */
export class FocusStage {
  private lastDirection: -1 | 0 | 1 = 0;

  constructor(readonly backend: StageBackend, readonly options: FocusStageOptions) {}

  positionUm(): number {
    return this.backend.positionUm();
  }

  /** Refuses targets outside the soft limits with a DeviceError before anything moves. */
  checkLimits(zUm: number): void {
    const { minUm, maxUm } = this.options;
    if (!Number.isFinite(zUm)) throw new DeviceError(`invalid stage target ${zUm}`, "stage");
    if (zUm < minUm || zUm > maxUm)
      throw new DeviceError(`stage at its limit: z=${zUm.toFixed(2)} µm is outside the soft limits [${minUm}, ${maxUm}] µm`, "stage");
  }

  /** Moves to `zUm` (backlash-compensated unless `compensate` is false). */
  async moveTo(zUm: number, signal?: AbortSignal, compensate = true): Promise<void> {
    this.checkLimits(zUm);
    const from = this.positionUm();
    const { backlashUm, minUm } = this.options;
    const slackMayRemain = zUm < from || (this.lastDirection !== 1 && zUm - from < backlashUm);
    if (compensate && backlashUm > 0 && slackMayRemain) {
      const viaUm = Math.max(minUm, zUm - backlashUm);
      // At the lower limit the overshoot is the move itself: it must settle.
      await this.travel(viaUm, signal, zUm - viaUm >= this.backend.info.resolutionUm ? { waypointToUm: zUm } : undefined);
    }
    await this.travel(zUm, signal);
  }

  async moveBy(deltaUm: number, signal?: AbortSignal): Promise<void> {
    await this.moveTo(this.positionUm() + deltaUm, signal);
  }

  async setPositionUm(zUm: number): Promise<void> {
    await this.backend.setPositionUm(zUm);
  }

  async halt(): Promise<void> {
    await this.backend.halt();
  }

  private async travel(zUm: number, signal?: AbortSignal, options?: MoveOptions): Promise<void> {
    const from = this.positionUm();
    if (zUm !== from) this.lastDirection = zUm > from ? 1 : -1;
    try {
      await this.backend.moveTo(zUm, signal, options);
    } catch (err) {
      this.lastDirection = 0;
      throw err;
    }
  }
}
