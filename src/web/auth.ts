import type { Context, MiddlewareHandler } from "hono";
import { tokenMatches } from "./token.js";

/** The request failed authentication (HTTP 401). */
export class UnauthorizedError extends Error {
  override readonly name = "UnauthorizedError";
}

/** The token presented in `Authorization: Bearer …` or `X-Focusbox-Token`. */
function headerToken(c: Context): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  return bearer?.[1] ?? c.req.header("x-focusbox-token");
}

/**
 * Token check for the API: every method but GET/HEAD needs the token in a header; GET/HEAD
 * need it too unless `publicStatus`, and may also pass it as `?token=` (EventSource and <img>
 * cannot set headers).
 */
export function requireToken(token: string, publicStatus: boolean): MiddlewareHandler {
  return async (c, next) => {
    const read = c.req.method === "GET" || c.req.method === "HEAD";
    if (read && publicStatus) return next();
    const presented = headerToken(c) ?? (read ? c.req.query("token") : undefined);
    if (!tokenMatches(presented, token))
      throw new UnauthorizedError(presented ? "wrong token" : "this request needs the station token (Authorization: Bearer <token> or X-Focusbox-Token); `focusbox token` prints it");
    return next();
  };
}
