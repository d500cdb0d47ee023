import { Hono } from "hono";
import type { Station } from "../../station/station.js";

/** Read-only state: status, recent operations, methods and profiles. */
export function statusRoutes(station: Station): Hono {
  return new Hono()
    .get("/status", (c) => c.json(station.status()))
    .get("/log", (c) => c.json({ operations: station.log() }))
    .get("/methods", async (c) =>
      c.json({ methods: station.methods(), profiles: await station.profiles(), defaults: { metric: station.config.autofocus.metric, strategy: station.config.autofocus.strategy } }),
    );
}
