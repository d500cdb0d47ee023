import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { z } from "zod";
import { CLASSICAL_METRIC_IDS } from "../focus/types.js";
import { encodePreviewJpeg } from "../image/codec.js";
import type { Station } from "../station/station.js";
import { errorResponse } from "./errors.js";
import { jsonBody } from "./validate.js";

const STATIC_DIR = new URL("../../src/web/static/", import.meta.url);

const autofocusBody = z.object({
  metric: z.enum([...CLASSICAL_METRIC_IDS]).optional(),
  strategy: z.enum(["brent", "sweep"]).optional(),
});
const moveBody = z.object({ zUm: z.number().finite(), relative: z.boolean().default(false) });

/** The station's HTTP app: the page and the JSON API. Errors map to JSON in one place. */
export function createApp(station: Station): Hono {
  const page = readFileSync(new URL("index.html", STATIC_DIR), "utf8");
  const app = new Hono();
  app.onError((err, c) => errorResponse(err, c));
  app.notFound((c) => c.json({ error: "not found", detail: `${c.req.method} ${c.req.path}` }, 404));

  app.get("/", (c) => c.html(page));
  app.get("/api/status", (c) => c.json(station.status()));
  app.post("/api/autofocus", async (c) => c.json(await station.autofocus(await jsonBody(c, autofocusBody))));
  app.post("/api/cancel", async (c) => c.json({ cancelled: await station.cancel() }));
  app.post("/api/stage/move", async (c) => {
    const { zUm, relative } = await jsonBody(c, moveBody);
    return c.json({ positionUm: await station.move(zUm, relative) });
  });
  app.get("/api/preview.jpg", async (c) => {
    const jpeg = await encodePreviewJpeg(await station.previewFrame());
    return c.body(new Uint8Array(jpeg), 200, { "content-type": "image/jpeg", "cache-control": "no-store" });
  });
  return app;
}
