import { ConfigError, throwIfAborted } from "../errors.js";
import type { Camera } from "../hardware/camera/types.js";
import type { FocusStage } from "../hardware/stage/focus-stage.js";
import { StackWriter, type StackManifest } from "../hardware/zstack.js";

export interface RecordStackOptions {
  fromUm: number;
  toUm: number;
  stepUm: number;
  outDir: string;
  /** Extra manifest fields (focusUm, pixelSizeUm, objective). */
  meta?: Omit<StackManifest, "planes">;
  signal?: AbortSignal;
  onPlane?: (zUm: number, index: number, count: number) => void;
}

/**
 * Records a z-stack from any camera and focus stage: planes from `fromUm` up to `toUm`
 * (always travelling upward, so backlash is taken up once), written as a stack directory.
 */
export async function recordStack(camera: Camera, stage: FocusStage, o: RecordStackOptions): Promise<string> {
  if (!(o.stepUm > 0)) throw new ConfigError("--step must be a positive number of µm");
  if (!(o.toUm > o.fromUm)) throw new ConfigError("--to must be above --from");
  const count = Math.floor((o.toUm - o.fromUm) / o.stepUm + 1e-9) + 1;
  stage.checkLimits(o.fromUm);
  stage.checkLimits(o.fromUm + (count - 1) * o.stepUm);
  const writer = new StackWriter(o.outDir);
  await writer.open();
  for (let i = 0; i < count; i++) {
    throwIfAborted(o.signal);
    const zUm = Number((o.fromUm + i * o.stepUm).toFixed(6));
    await stage.moveTo(zUm, o.signal);
    await writer.addPlane(zUm, await camera.grab(o.signal));
    o.onPlane?.(zUm, i, count);
  }
  await writer.close({ pixelSizeUm: camera.info.pixelSizeUm, ...o.meta });
  return o.outDir;
}
