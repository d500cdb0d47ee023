import { Hono } from "hono";
import type { Station } from "../station/station.js";
import { requireToken } from "./auth.js";
import { errorResponse } from "./errors.js";
import { prometheusText } from "./metrics.js";
import { captureRoutes } from "./routes/captures.js";
import { eventRoutes } from "./routes/events.js";
import { operationRoutes } from "./routes/operations.js";
import { previewRoutes } from "./routes/preview.js";
import { refocusRoutes } from "./routes/refocus.js";
import { statusRoutes } from "./routes/status.js";
import { timelapseRoutes } from "./routes/timelapse.js";
import type { TimelapseManager } from "../timelapse/manager.js";
import { cameraRefocus, type RefocusSource } from "../refocus/index.js";
import { staticRoutes } from "./static.js";

export interface AppOptions {
  /** The station token (see ensureToken); every mutating route requires it. */
  token: string;
  /** GET routes (status, events, preview, captures, metrics) without the token. Default true. */
  publicStatus?: boolean;
  /** MJPEG preview frame rate. Default 5. */
  previewFps?: number;
  /** Preview frames are decimated to at most this width. Default 1024. */
  previewMaxWidth?: number;
  /** Aborting it ends the long-lived streams (SSE, MJPEG), e.g. on shutdown. */
  closing?: AbortSignal;
  /** The timelapse jobs (started by the caller); without it the app has no /api/timelapse routes. */
  timelapse?: TimelapseManager;
  /** Digital refocus for POST /api/refocus; default the configured refocus models, loaded on first use. */
  refocus?: RefocusSource;
}

/**
 * The station's HTTP app: the page (`/`, `/static/*`), the JSON API under `/api` (one
 * sub-app per resource, all behind the token check) and `/metrics`. Errors map to JSON
 * `{ error, detail }` only in `onError`.
 */
export function createApp(station: Station, options: AppOptions): Hono {
  const closing = options.closing ?? new AbortController().signal;
  const startedAtMs = performance.now();
  const auth = requireToken(options.token, options.publicStatus ?? true);
  const app = new Hono();
  app.onError((err, c) => errorResponse(err, c));
  app.notFound((c) => c.json({ error: "not found", detail: `${c.req.method} ${c.req.path}` }, 404));
  app.use("/api/*", auth);
  app.use("/metrics", auth);
  app.route("/", staticRoutes());
  app.route("/api", statusRoutes(station));
  app.route("/api", operationRoutes(station));
  app.route("/api", eventRoutes(station, closing));
  app.route("/api", previewRoutes(station, { fps: options.previewFps ?? 5, maxWidth: options.previewMaxWidth ?? 1024 }, closing));
  app.route("/api/captures", captureRoutes(station));
  app.route("/api", refocusRoutes(station, options.refocus ?? cameraRefocus(station.config, station.devices.camera.info.pixelSizeUm)));
  if (options.timelapse) app.route("/api/timelapse", timelapseRoutes(options.timelapse));
  app.get("/metrics", (c) => c.text(prometheusText(station, startedAtMs), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  return app;
}

