import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "../helpers.js";
import { launchChromium } from "./chromium.js";

describe("the page's timelapse panel in headless Chromium", () => {
  it("creates a timelapse, shows progress, the focus plot and the latest image, and stops it", async () => {
    const stateDir = join(tempDir(), "state");
    const serve = await startServe({ FOCUSBOX_STATE_DIR: stateDir, FOCUSBOX_CLOCK: "real" });
    const context = await launchChromium();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.addInitScript((t) => localStorage.setItem("focusbox-token", t), readFileSync(join(stateDir, "token"), "utf8").trim());
      await page.goto(serve.url);
      await expect.poll(() => page.textContent("#tl-summary")).toBe("no timelapse");
      expect(await page.isDisabled("#tl-stop")).toBe(true);

      await page.fill("#tl-interval", "0.5");
      await page.fill("#tl-count", "40");
      await page.selectOption("#tl-policy", "none");
      await page.click("#tl-start");
      await page.waitForFunction(() => /^running: [2-9]\d* captured, \d+ missed of 40/.test(document.getElementById("tl-summary")!.textContent ?? ""), undefined, { timeout: 20_000 });
      expect(await page.isDisabled("#tl-start")).toBe(true);
      const summary = await page.textContent("#tl-summary");
      expect(summary).toMatch(/ of 40 · every 0\.5 s, autofocus none/); // what runs, for whoever checks in remotely
      expect(summary).not.toMatch(/AF images/); // the "none" policy takes none
      await page.waitForFunction(() => (document.getElementById("tl-latest") as HTMLImageElement).naturalWidth > 0, undefined, { timeout: 10_000 });
      expect(await page.locator("#tl-plot .uplot canvas").count()).toBe(1);

      await page.click("#tl-stop");
      await page.waitForFunction(() => /^stopped: \d+ captured/.test(document.getElementById("tl-summary")!.textContent ?? ""), undefined, { timeout: 10_000 });
      expect(await page.isDisabled("#tl-start")).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    }
  });
});
