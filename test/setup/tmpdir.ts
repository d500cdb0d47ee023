import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * Each test file's temporary files (stations' state dirs, stacks, Chromium profiles, and those
 * of the CLI subprocesses it starts, which inherit TMPDIR) go into one directory of its own,
 * removed after the file's tests, so a test run leaves nothing behind in the system's /tmp.
 */
const systemTmp = tmpdir();
const dir = mkdtempSync(join(systemTmp, "focusbox-vitest-"));
process.env.TMPDIR = dir;

afterAll(() => {
  process.env.TMPDIR = systemTmp;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (err) {
    console.warn(`could not remove the test file's temporary directory ${dir}: ${(err as Error).message}`);
  }
});
