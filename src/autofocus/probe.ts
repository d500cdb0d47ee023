import { throwIfAborted } from "../errors.js";
import type { AutofocusContext, TracePoint } from "./types.js";

/**
 * Moves the focus stage to `zUm` (backlash-compensated), grabs a fresh frame and scores it.
 * The one place where a strategy spends an image; every image lands in `trace`.
 */
export async function probe(ctx: AutofocusContext, trace: TracePoint[], t0Ms: number, zUm: number): Promise<TracePoint> {
  throwIfAborted(ctx.signal);
  await ctx.stage.moveTo(zUm, ctx.signal);
  const grabbedAtMs = ctx.clock.nowMs();
  const frame = await ctx.camera.grab(ctx.signal);
  const { score, tiles } = await ctx.scorer.score(frame, ctx.roi);
  const point: TracePoint = { zUm, score, tiles, timeMs: grabbedAtMs - t0Ms };
  if (ctx.sharpness) point.sharpness = (await ctx.sharpness.score(frame, ctx.roi)).score;
  trace.push(point);
  ctx.onImage?.(point);
  return point;
}
