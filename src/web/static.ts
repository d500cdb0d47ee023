import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";

const STATIC_DIR = new URL("../../src/web/static/", import.meta.url);
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** The page and its assets, read once: our own files from src/web/static, uPlot from its package. */
export function staticRoutes(): Hono {
  const files: Record<string, Buffer> = {
    "index.html": readFileSync(new URL("index.html", STATIC_DIR)),
    "app.js": readFileSync(new URL("app.js", STATIC_DIR)),
    "app.css": readFileSync(new URL("app.css", STATIC_DIR)),
    "uplot.min.js": readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js")),
    "uplot.min.css": readFileSync(require.resolve("uplot/dist/uPlot.min.css")),
  };
  const send = (name: string, cache: string) => (c: import("hono").Context) =>
    c.body(new Uint8Array(files[name]), 200, { "content-type": TYPES[name.slice(name.lastIndexOf(".") + 1)], "cache-control": cache });
  const app = new Hono().get("/", send("index.html", "no-cache"));
  for (const name of Object.keys(files)) if (name !== "index.html") app.get(`/static/${name}`, send(name, name.startsWith("uplot") ? "public, max-age=86400" : "no-cache"));
  return app;
}
