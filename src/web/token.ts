import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where the API token lives: `<stateDir>/token`, mode 0600. */
export function tokenPath(stateDir: string): string {
  return join(stateDir, "token");
}

/**
 * Returns the station's API token, creating it on first use: 32 random bytes (base64url)
 * written with mode 0600 (an existing file is tightened to 0600).
 */
export async function ensureToken(stateDir: string): Promise<string> {
  const file = tokenPath(stateDir);
  const existing = await readToken(file);
  if (existing) return existing;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const token = await readToken(file);
  if (!token) throw new Error(`${file} is empty: delete it to have a new token created`);
  return token;
}

async function readToken(file: string): Promise<string | null> {
  try {
    const token = (await readFile(file, "utf8")).trim();
    await chmod(file, 0o600);
    return token || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Constant-time comparison of a presented token with the station's. */
export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (!presented) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}
