import type { Hono } from "hono";
import type { Station } from "../../src/station/station.js";
import { createApp, type AppOptions } from "../../src/web/app.js";

export const TOKEN = "test-token-0123456789";

/** The app of a station with a known token. */
export function appFor(station: Station, options: Partial<AppOptions> = {}): Hono {
  return createApp(station, { token: TOKEN, ...options });
}

/** A POST request init with a JSON body and (by default) the right token. */
export function post(body: unknown = {}, token: string | null = TOKEN): RequestInit {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}
