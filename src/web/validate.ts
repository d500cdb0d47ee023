import type { Context } from "hono";
import type { z } from "zod";
import { ConfigError } from "../errors.js";

/** Parses a JSON body (empty body = `{}`) with a zod schema; failures are ConfigErrors naming the field. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ConfigError("request body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
  throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
}
