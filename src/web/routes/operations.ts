import { Hono } from "hono";
import { z } from "zod";
import { CLASSICAL_METRIC_IDS } from "../../focus/types.js";
import type { Station } from "../../station/station.js";
import { jsonBody } from "../validate.js";

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, . _ - (at most 64)");
const um = z.number().finite();

const autofocusBody = z.strictObject({
  method: z.string().min(1).max(64).optional(),
  metric: z.enum([...CLASSICAL_METRIC_IDS]).optional(),
  strategy: z.enum(["brent", "sweep"]).optional(),
  profile: name.optional(),
});
const calibrateBody = z.strictObject({ name: name.optional(), halfRangeUm: um.positive().max(5000).optional(), stepUm: um.positive().optional() });
const captureBody = z.strictObject({ note: z.string().max(500).optional() });
const stackBody = z.strictObject({ fromUm: um, toUm: um, stepUm: um.positive(), relative: z.boolean().default(false) });
const moveBody = z.strictObject({ zUm: um, relative: z.boolean().default(false) });

/** The mutating routes (all POST, all behind the token): one operation each, 409 while busy. */
export function operationRoutes(station: Station): Hono {
  return new Hono()
    .post("/autofocus", async (c) => c.json(await station.autofocus(await jsonBody(c, autofocusBody))))
    .post("/cancel", async (c) => {
      const running = station.status().operation;
      const cancelled = await station.cancel();
      return c.json({ cancelled, operation: running, state: station.state() });
    })
    .post("/calibrate", async (c) => c.json(await station.calibrate(await jsonBody(c, calibrateBody))))
    .post("/capture", async (c) => c.json(await station.capture(await jsonBody(c, captureBody)), 201))
    .post("/stack", async (c) => c.json(await station.recordStack(await jsonBody(c, stackBody)), 201))
    .post("/stage/move", async (c) => {
      const { zUm, relative } = await jsonBody(c, moveBody);
      return c.json({ positionUm: await station.move(zUm, relative) });
    })
    .post("/stage/zero", async (c) => {
      await jsonBody(c, z.strictObject({}));
      return c.json({ positionUm: await station.setZero() });
    });
}
