import { join } from "node:path";
import { Hono } from "hono";
import { z } from "zod";
import { readGrayImage } from "../../image/codec.js";
import { REFOCUS_METHODS, type RefocusSource } from "../../refocus/index.js";
import { CaptureNotFoundError, type CaptureInfo } from "../../station/captures.js";
import type { Station } from "../../station/station.js";
import { jsonBody } from "../validate.js";

const refocusBody = z.strictObject({
  /** Default: config refocus.method. */
  method: z.enum(REFOCUS_METHODS).optional(),
  /** A capture id; default the newest capture that is not itself a refocus result. */
  id: z.string().min(1).max(80).optional(),
});

/** There is no capture to refocus yet (HTTP 404). */
class NoCaptureError extends CaptureNotFoundError {
  constructor() {
    super("(none)");
    this.message = "no capture to refocus yet: take one first (POST /api/capture, or the page's Capture button)";
  }
}

/**
 * POST /api/refocus `{ method?: "net" | "rl" | "wiener" | "auto", id?: string }` (token required, like every
 * mutating route): digitally refocuses a capture — by default the newest one that is not
 * itself a refocus result — as one station operation named "refocus" (409 while another runs),
 * and stores the result as a new capture (same size and bit depth) whose sidecar holds
 * `refocusOf` (the source id) and `refocus` (method, duration, tiles, model hash).
 * 201 `{ capture, source, refocus }`; 400 for a bad body or id, 404 for no capture.
 */
export function refocusRoutes(station: Station, source: RefocusSource): Hono {
  return new Hono().post("/refocus", async (c) => {
    const body = await jsonBody(c, refocusBody);
    const sourceInfo = body.id !== undefined ? await station.captures.info(body.id) : await newestOriginal(station);
    const result = await station.runOperation(
      "refocus",
      async (ctx) => {
        const decoded = await readGrayImage(join(station.captures.dir, sourceInfo.file));
        const frame = decoded.data instanceof Uint16Array && sourceInfo.bitDepth > 8 && sourceInfo.bitDepth < 16 ? { ...decoded, bitDepth: sourceInfo.bitDepth } : decoded;
        const refocuser = await source.get(body.method);
        const { frame: out, info } = await refocuser.refocus(frame, ctx.signal);
        const capture = await station.captures.save(out, {
          zUm: sourceInfo.zUm,
          note: `refocus (${info.method}) of ${sourceInfo.id}`,
          refocusOf: sourceInfo.id,
          refocus: info,
          ...(sourceInfo.objective ? { objective: sourceInfo.objective } : {}),
        });
        return { capture, source: sourceInfo.id, refocus: info };
      },
      (r) => `${r.source} → ${r.capture.file} (${r.refocus.method}, ${r.refocus.tiles} tiles, ${(r.refocus.durationMs / 1000).toFixed(2)} s)`,
    );
    station.events.emit("captured", { operation: "refocus", capture: result.capture });
    return c.json(result, 201);
  });
}

async function newestOriginal(station: Station): Promise<CaptureInfo> {
  const found = (await station.captures.list()).find((ci) => ci.refocusOf === undefined);
  if (!found) throw new NoCaptureError();
  return found;
}
