import { throwIfAborted } from "../errors.js";
import type { Frame } from "../hardware/camera/types.js";
import type { AutofocusContext, TracePoint } from "./types.js";

/**
 * Moves the focus stage to `zUm` (backlash-compensated), grabs a fresh frame and scores it.
 * The one place where a strategy spends an image; every image lands in `trace`.
 */
export async function probe(ctx: AutofocusContext, trace: TracePoint[], t0Ms: number, zUm: number): Promise<TracePoint> {
  return (await probeAll(ctx, trace, t0Ms, [zUm]))[0];
}

/**
 * `probe` for positions known in advance, in the given order: each frame is scored while the
 * stage already moves on to the next position (one scoring call at a time, in order), so the
 * scorer's time hides behind the stage's. Trace points are pushed (and `onImage` called) in
 * order as their scores arrive. On an error or abort nothing is left running: pending scores
 * finish first, and the points scored before the failure stay in `trace`.
 */
export async function probeAll(ctx: AutofocusContext, trace: TracePoint[], t0Ms: number, zsUm: readonly number[]): Promise<TracePoint[]> {
  let scoring: Promise<unknown> = Promise.resolve();
  let scoringFailed = false;
  const points: Promise<TracePoint>[] = [];
  try {
    for (const zUm of zsUm) {
      throwIfAborted(ctx.signal);
      if (scoringFailed) break;
      await ctx.stage.moveTo(zUm, ctx.signal);
      const grabbedAtMs = ctx.clock.nowMs();
      const frame = await ctx.camera.grab(ctx.signal);
      const point = scoring.then(() => scorePoint(ctx, trace, frame, zUm, grabbedAtMs - t0Ms));
      point.catch(() => (scoringFailed = true));
      scoring = point;
      points.push(point);
    }
  } finally {
    await Promise.allSettled(points);
  }
  return Promise.all(points);
}

async function scorePoint(ctx: AutofocusContext, trace: TracePoint[], frame: Frame, zUm: number, timeMs: number): Promise<TracePoint> {
  const { score, tiles } = await ctx.scorer.score(frame, ctx.roi);
  const point: TracePoint = { zUm, score, tiles, timeMs };
  if (ctx.sharpness) {
    const sharpness = await ctx.sharpness.score(frame, ctx.roi);
    point.sharpness = sharpness.score;
    point.sharpnessTiles = sharpness.tiles;
  }
  trace.push(point);
  ctx.onFrame?.(point, frame);
  ctx.onImage?.(point);
  return point;
}
