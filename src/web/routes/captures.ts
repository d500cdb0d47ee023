import { Hono } from "hono";
import type { Station } from "../../station/station.js";

/** Captured frames: the list (newest first), each PNG and its JSON sidecar, by id only. */
export function captureRoutes(station: Station): Hono {
  return new Hono()
    .get("/", async (c) => c.json({ captures: await station.captures.list() }))
    .get("/:id", async (c) => {
      const id = c.req.param("id");
      const png = await station.captures.png(id);
      return c.body(new Uint8Array(png), 200, { "content-type": "image/png", "content-disposition": `inline; filename="${id}.png"` });
    })
    .get("/:id/meta", async (c) => c.json(await station.captures.info(c.req.param("id"))));
}
