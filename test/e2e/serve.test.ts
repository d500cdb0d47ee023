import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "../helpers.js";

describe("focusbox serve", () => {
  it("starts within 5 s, creates the token, tells systemd READY, pings the watchdog, and exits 0 quickly on SIGTERM during an autofocus", async () => {
    const t0 = performance.now();
    const stateDir = join(tempDir(), "state");
    const bin = tempDir();
    const notified = join(bin, "notified");
    writeFileSync(join(bin, "systemd-notify"), `#!/bin/sh\necho "$*" >> ${notified}\n`, { mode: 0o755 });
    const serve = await startServe({
      FOCUSBOX_STATE_DIR: stateDir,
      FOCUSBOX_CLOCK: "real",
      NOTIFY_SOCKET: "/run/focusbox-test.sock",
      WATCHDOG_USEC: "300000",
      PATH: `${bin}:${process.env.PATH}`,
    });
    try {
      const page = await fetch(serve.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Autofocus");
      expect(performance.now() - t0).toBeLessThan(5000);
      const token = readFileSync(join(stateDir, "token"), "utf8").trim();
      expect(statSync(join(stateDir, "token")).mode & 0o777).toBe(0o600);
      expect(serve.stderr()).not.toContain(token);
      const status = await (await fetch(`${serve.url}api/status`)).json();
      expect(status.state).toBe("idle");
      expect((await fetch(`${serve.url}api/autofocus`, { method: "POST" })).status).toBe(401);

      void fetch(`${serve.url}api/autofocus`, { method: "POST", headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      const events = await fetch(`${serve.url}api/events`);
      const mjpeg = await fetch(`${serve.url}api/preview.mjpg`);
      expect(mjpeg.status).toBe(200);
      for (let i = 0; i < 100 && (await (await fetch(`${serve.url}api/status`)).json()).state !== "busy"; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 400));
      expect((await (await fetch(`${serve.url}api/status`)).json()).operation).toBe("autofocus");
      void events.body?.cancel().catch(() => undefined);
      const tKill = performance.now();
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
      expect(performance.now() - tKill).toBeLessThan(3000);
      expect(serve.stderr()).toMatch(/autofocus cancelled/);
      const lines = readFileSync(notified, "utf8").trim().split("\n");
      expect(lines[0]).toMatch(/^READY=1 STATUS=serving on port \d+$/);
      expect(lines.filter((l) => l === "WATCHDOG=1").length).toBeGreaterThan(0);
      expect(lines.at(-1)).toBe("STOPPING=1");
    } finally {
      serve.child.kill("SIGKILL");
    }
  });
});
