import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BusyError, CanceledError, ConfigError, DeviceError, FocusNotFoundError } from "../errors.js";
import { CaptureNotFoundError } from "../station/captures.js";
import { UnauthorizedError } from "./auth.js";

/** The only place where focusbox errors become HTTP responses: JSON `{ error, detail }`. */
export function errorResponse(err: Error, c: Context): Response {
  const [status, error]: [ContentfulStatusCode, string] =
    err instanceof ConfigError ? [400, "invalid request"]
    : err instanceof UnauthorizedError ? [401, "unauthorized"]
    : err instanceof CaptureNotFoundError ? [404, "not found"]
    : err instanceof BusyError ? [409, "busy"]
    : err instanceof CanceledError ? [409, "cancelled"]
    : err instanceof FocusNotFoundError ? [422, "focus not found"]
    : err instanceof DeviceError ? [503, "device error"]
    : [500, "internal error"];
  const detail = status === 500 ? "unexpected error; see the station log" : err.message;
  const extra = err instanceof BusyError ? { running: err.running } : err instanceof ConfigError && err.issues.length ? { issues: err.issues } : {};
  if (status === 401) c.header("www-authenticate", 'Bearer realm="focusbox"');
  return c.json({ error, detail, ...extra }, status);
}
