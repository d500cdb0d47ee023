import { readFile } from "node:fs/promises";
import { ConfigError } from "../errors.js";
import { configSchema, type Config } from "./schema.js";

/**
 * Prefix of environment overrides: FOCUSBOX_SERVER__PORT=9000 sets server.port (`__` separates
 * levels). Variables whose first level is no config key (FOCUSBOX_CONFIG, FOCUSBOX_DEBUG, test
 * tools' own) are not config; below that, an unknown key is an error like one in the file.
 */
export const ENV_PREFIX = "FOCUSBOX_";

/**
 * Validates a raw config object (after env overrides) and returns the full config with defaults.
 * Throws ConfigError listing every problem as "dotted.path: what was expected".
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = {}): Config {
  const merged = applyEnvOverrides(raw ?? {}, env);
  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: [...issue.path.map(String), key].join("."), message: "unknown key (a typo?)" }))
      : [{ path: issue.path.map(String).join(".") || "(root)", message: issue.message }],
  );
  throw new ConfigError(`invalid config:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`, issues);
}

/** Reads a JSON config file (missing path → defaults) and validates it with env overrides applied. */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return parseConfig(raw, env);
}

function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const out = structuredClone(raw) as Record<string, unknown>;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = key.slice(ENV_PREFIX.length).split("__").map(camelCase);
    if (!Object.hasOwn(configSchema.shape, path[0])) continue;
    let node = out;
    for (const part of path.slice(0, -1)) {
      if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = parseEnvValue(value);
  }
  return out;
}

function camelCase(part: string): string {
  return part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
