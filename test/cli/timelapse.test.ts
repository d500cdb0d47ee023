import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "../helpers.js";
import { focusbox } from "./run.js";

/** `focusbox timelapse start|status|stop` against a running `focusbox serve` (simulator, real clock). */
describe("focusbox timelapse (CLI → appliance API)", () => {
  it("starts a job, reports its progress, stops it, and refuses bad input with one clear line", async () => {
    const stateDir = join(tempDir(), "state");
    const serve = await startServe({ FOCUSBOX_STATE_DIR: stateDir, FOCUSBOX_CLOCK: "real" });
    const env = { FOCUSBOX_STATE_DIR: stateDir };
    try {
      const url = ["--url", serve.url];
      const bad = await focusbox(["timelapse", "start", ...url, "--interval", "500", "--count", "5", "--planes", "0,x"], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--planes: "0,x" is not a comma-separated list of numbers/);

      const started = await focusbox(["timelapse", "start", ...url, "--interval", "500", "--count", "50", "--policy", "none", "--json"], env);
      expect(started.code, started.stderr).toBe(0);
      const job = JSON.parse(started.stdout);
      expect(job).toMatchObject({ state: "running", job: { total: 50 } });

      let status = job;
      for (let i = 0; i < 50 && status.done < 2; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = JSON.parse((await focusbox(["timelapse", "status", ...url, "--json"], env)).stdout);
      }
      expect(status.id).toBe(job.id);
      expect(status.done).toBeGreaterThanOrEqual(2);

      const busy = await focusbox(["timelapse", "start", ...url, "--interval", "500", "--count", "5"], env);
      expect(busy.code).not.toBe(0);

      const stopped = await focusbox(["timelapse", "stop", ...url], env);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toMatch(new RegExp(`^${job.id}: stopped, \\d+ captured, \\d+ missed of 50`));

      const noToken = await focusbox(["timelapse", "stop", ...url, "--token", "wrong"], env);
      expect(noToken.code).not.toBe(0);
      expect(noToken.stderr).toMatch(/401/);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });
});
