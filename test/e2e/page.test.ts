import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "../helpers.js";
import { launchChromium } from "./chromium.js";

const OUT = new URL("../../test-output/", import.meta.url).pathname;

describe("the page in headless Chromium", () => {
  it("asks for the token once, autofocuses with live progress, draws the result and moves the stage", async () => {
    mkdirSync(OUT, { recursive: true });
    const stateDir = join(tempDir(), "state");
    const serve = await startServe({ FOCUSBOX_STATE_DIR: stateDir, FOCUSBOX_CLOCK: "real", FOCUSBOX_MICROSCOPE__FOCUS_UM: "18", FOCUSBOX_AUTOFOCUS__RANGE_UM: "40" });
    const context = await launchChromium();
    try {
      const token = readFileSync(join(stateDir, "token"), "utf8").trim();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(serve.url);
      await expect.poll(() => page.textContent("#state")).toBe("idle");
      expect(await page.textContent("#position")).toBe("0.00");
      await expect.poll(() => page.$eval("#method", (s) => (s as HTMLSelectElement).options.length)).toBeGreaterThan(7);

      await page.click("#autofocus");
      await page.fill("#token-input", token);
      await page.click("#token-save");
      await page.waitForFunction(() => /^image \d+/.test(document.getElementById("progress")!.textContent ?? ""), undefined, { timeout: 10_000 });
      expect(await page.textContent("#state")).toBe("busy: autofocus");
      await page.waitForFunction(() => document.getElementById("summary")!.textContent!.includes("→"), undefined, { timeout: 20_000 });
      await expect.poll(() => page.textContent("#state")).toBe("idle");

      const position = Number(await page.textContent("#position"));
      expect(Math.abs(position - 18)).toBeLessThan(3);
      expect(await page.textContent("#message")).toMatch(/^focused at/);
      const inked = await page.$eval(".uplot canvas", (c) => {
        const { data } = (c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      });
      expect(inked).toBeGreaterThan(500);
      expect(await page.locator("#tiles div").count()).toBe(9);
      expect(await page.locator("#log li").first().textContent()).toMatch(/autofocus/);
      expect(await page.evaluate(() => localStorage.getItem("focusbox-token"))).toBe(token);
      await page.waitForFunction(() => (document.getElementById("preview") as HTMLImageElement).naturalWidth > 0);

      await page.click('[data-jog="10"]');
      await expect.poll(() => page.textContent("#position")).toBe((position + 10).toFixed(2));
      expect(await page.locator("#token-dialog[open]").count()).toBe(0);
      await page.screenshot({ path: join(OUT, "page.png"), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(OUT, "page-phone.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    }
  });
});
