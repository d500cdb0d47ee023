import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "../helpers.js";
import { launchChromium } from "../e2e/chromium.js";

describe("the page's Refocus button in headless Chromium", () => {
  it("refocuses the last capture and shows the result", async () => {
    const stateDir = join(tempDir(), "state");
    const serve = await startServe({ FOCUSBOX_STATE_DIR: stateDir, FOCUSBOX_CLOCK: "real", FOCUSBOX_MICROSCOPE__FOCUS_UM: "12" });
    const context = await launchChromium();
    try {
      const token = readFileSync(join(stateDir, "token"), "utf8").trim();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.addInitScript((t) => localStorage.setItem("focusbox-token", t), token);
      await page.goto(serve.url);
      await expect.poll(() => page.textContent("#state")).toBe("idle");
      await page.click("#refocus");
      await expect.poll(() => page.textContent("#message")).toMatch(/no capture to refocus yet/);
      await page.click("#capture");
      await expect.poll(() => page.textContent("#message")).toMatch(/^captured /);
      await page.click("#refocus");
      await expect.poll(() => page.textContent("#message"), { timeout: 20_000 }).toMatch(/^refocused /);
      expect(await page.locator("#refocus-result").isVisible()).toBe(true);
      await page.waitForFunction(() => (document.getElementById("refocus-img") as HTMLImageElement).naturalWidth === 512);
      expect(await page.textContent("#refocus-caption")).toMatch(/^net: .* → .*, \d+ tiles, [\d.]+ s$/);
      await expect.poll(() => page.locator("#captures li").allTextContents()).toEqual([expect.stringMatching(/ · refocused \(net\)$/), expect.not.stringMatching(/refocused/)]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    }
  });
});
