import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN } from "../cli/run.js";

describe("npm start", () => {
  it("serves the page within 5 s and shuts down cleanly on SIGTERM", async () => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0"], { env: { ...process.env, FOCUSBOX_STATE_DIR: "/tmp/fb-e2e-serve" } });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let log = "";
        child.stderr.on("data", (d: Buffer) => {
          log += d;
          const m = /serving on (http:\/\/[^/]+\/)/.exec(log);
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`exited with ${code}: ${log}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Autofocus");
      expect(performance.now() - t0).toBeLessThan(5000);
      const status = await (await fetch(`${url}api/status`)).json();
      expect(status.state).toBe("idle");
      const preview = await fetch(`${url}api/preview.jpg`);
      expect(preview.headers.get("content-type")).toBe("image/jpeg");
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
