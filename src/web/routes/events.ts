import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { STATION_EVENT_NAMES } from "../../station/events.js";
import type { Station } from "../../station/station.js";

const KEEPALIVE_MS = 15_000;

/**
 * `GET /events`: Server-Sent Events, one per station event (`event:` is its name, `data:`
 * its JSON). The first event is the current `state`. Streams end when the client goes away
 * or `closing` aborts (server shutdown).
 */
export function eventRoutes(station: Station, closing: AbortSignal): Hono {
  return new Hono().get("/events", (c) =>
    streamSSE(c, async (stream) => {
      let chain = Promise.resolve();
      const send = (event: string, data: unknown) => {
        chain = chain.then(() => stream.writeSSE({ event, data: JSON.stringify(data) })).catch(() => undefined);
      };
      const offs = STATION_EVENT_NAMES.map((name) => station.events.on(name, (payload) => send(name, payload)));
      const s = station.status();
      send("state", { state: s.state, operation: s.operation, positionUm: s.positionUm });
      const keepalive = setInterval(() => (chain = chain.then(() => stream.write(": keepalive\n\n")).then(() => undefined, () => undefined)), KEEPALIVE_MS);
      try {
        await new Promise<void>((resolve) => {
          if (closing.aborted) return resolve();
          closing.addEventListener("abort", () => resolve(), { once: true });
          stream.onAbort(resolve);
        });
      } finally {
        clearInterval(keepalive);
        for (const off of offs) off();
      }
    }),
  );
}
