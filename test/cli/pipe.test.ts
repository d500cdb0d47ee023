import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { BIN, focusbox } from "./run.js";

it("a reader closing stdout early (focusbox score … | head) ends the command without a stack trace", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "fb-pipe-")), "stack");
  expect((await focusbox(["stack", "simulate", "--out", out, "--from", "-4", "--to", "4", "--step", "4"])).code).toBe(0);
  const child = spawn(process.execPath, [BIN, "score", "--stack", out]);
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
  expect(code).toBe(0);
});
