import { readFile } from "node:fs/promises";
import { Hono } from "hono";
import { z } from "zod";
import { timelapseRequestSchema } from "../../timelapse/job.js";
import type { TimelapseManager } from "../../timelapse/manager.js";
import { jsonBody } from "../validate.js";

/**
 * The timelapse job: GET status, POST create (body: a timelapse request, 201; 409 while a job
 * runs), POST /stop, GET /files/<name> (a stored PNG or sidecar of the current or last job).
 */
export function timelapseRoutes(manager: TimelapseManager): Hono {
  return new Hono()
    .get("/", (c) => c.json(manager.status()))
    .post("/", async (c) => c.json(await manager.create(await jsonBody(c, timelapseRequestSchema)), 201))
    .post("/stop", async (c) => {
      await jsonBody(c, z.strictObject({}));
      return c.json(await manager.stop());
    })
    .get("/files/:file", async (c) => {
      const file = c.req.param("file");
      const path = /^t\d{6}-p\d{2}\.(png|json)$/.test(file) ? manager.filePath(file) : null;
      if (!path) return c.json({ error: "not found", detail: `no timelapse file ${file.slice(0, 80)}` }, 404);
      const type = file.endsWith(".png") ? "image/png" : "application/json";
      return c.body(new Uint8Array(await readFile(path)), 200, { "content-type": type, "cache-control": "no-cache" });
    });
}
