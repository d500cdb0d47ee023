import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe, tempDir, type ServeProcess } from "../helpers.js";
import { launchChromium } from "./chromium.js";

/** The page's states a first-time user meets: no calibration yet, a cancelled run, a refused timelapse, a phone. */
describe("the page's states in headless Chromium", () => {
  let serve: ServeProcess;
  let context: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];
  const posts: string[] = [];
  let token = "";
  /** A POST to the station's API with its token, as a script beside the page would send it. */
  const post = (path: string, body = {}) => fetch(new URL(path, serve.url), { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  beforeAll(async () => {
    const stateDir = join(tempDir(), "state");
    serve = await startServe({ FOCUSBOX_STATE_DIR: stateDir, FOCUSBOX_CLOCK: "real", FOCUSBOX_MICROSCOPE__FOCUS_UM: "18" });
    context = await launchChromium();
    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => r.method() === "POST" && posts.push(new URL(r.url()).pathname));
    token = readFileSync(join(stateDir, "token"), "utf8").trim();
    await page.addInitScript((t) => localStorage.setItem("focusbox-token", t), token);
    await page.goto(serve.url);
    await page.waitForFunction(() => document.getElementById("state")!.textContent === "idle" && (document.getElementById("method") as HTMLSelectElement).options.length > 7);
  });

  afterAll(async () => {
    await context?.close();
    serve?.child.kill("SIGTERM");
    expect(await serve?.exited).toBe(0);
    expect(errors).toEqual([]);
  });

  it("an action whose token dialog is dismissed says why nothing happened", async () => {
    const other = await context.newPage();
    await other.goto(serve.url);
    await other.evaluate(() => localStorage.removeItem("focusbox-token"));
    await other.reload();
    await other.click("#capture");
    await other.click("#token-dialog button[value=cancel]");
    await expect.poll(() => other.textContent("#message")).toMatch(/^not sent: this needs the station's API token/);
    await other.close();
  });

  it("a cancelled autofocus is not shown as a failure, nor beside the previous result; the busy header fits a phone", async () => {
    await page.click("#autofocus");
    await expect.poll(() => page.textContent("#summary")).toBe("running…");
    await page.waitForFunction(() => /^image [2-9]/.test(document.getElementById("progress")!.textContent ?? ""), undefined, { timeout: 20_000 });
    expect(await page.textContent("#progress")).toMatch(/ · score \d+\.\d{4}$/);
    expect(await page.textContent("#plot .u-series:nth-child(2) .u-label")).toBe("score");
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const lines = await page.evaluate(() => ["#state", ".pos"].map((q) => document.querySelector(q)!.getBoundingClientRect().height));
    expect(Math.max(...lines)).toBeLessThan(30); // one line each
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click("#cancel");
    await expect.poll(() => page.textContent("#state")).toBe("idle");
    await expect.poll(() => page.textContent("#message")).toBe("cancelled autofocus");
    expect(await page.getAttribute("#message", "class")).not.toBe("bad");
    expect(await page.textContent("#summary")).toMatch(/^cancelled after \d+ images/);
    expect(await page.locator("#tiles div").count()).toBe(0);
    expect(await page.isHidden("#tiles-title")).toBe(true);
  });

  it("a failed operation leaves the station in error until the Cancel button, then reading 'Clear error', clears it", async () => {
    const res = await post("/api/stage/move", { zUm: 5000 });
    expect(res.status).toBe(503);
    await expect.poll(() => page.textContent("#state")).toBe("error");
    expect(await page.textContent("#message")).toMatch(/^move failed: stage at its limit/);
    expect(await page.textContent("#cancel")).toBe("Clear error");
    await page.click("#cancel");
    await expect.poll(() => page.textContent("#state")).toBe("idle");
    // The state arrives over SSE, the message with the POST's answer: either may come first.
    await expect.poll(() => page.textContent("#message")).toBe("error cleared");
    expect(await page.textContent("#cancel")).toBe("Cancel");
    expect(await page.isDisabled("#cancel")).toBe(true);
  });

  it("status and log answers that the event stream overtakes do not bring back a finished run's busy state nor drop its log line", async () => {
    const status = async () => (await fetch(new URL("/api/status", serve.url))).json();
    /** Starts an autofocus, waits until it runs, runs `during`, then cancels it. */
    const cancelledRun = async (during: () => Promise<void>) => {
      const run = post("/api/autofocus");
      await expect.poll(async () => (await status()).state).toBe("busy");
      await during();
      await post("/api/cancel");
      expect((await run).status).toBe(409);
    };
    const late = await context.newPage();
    late.on("pageerror", (e) => errors.push(e.message));
    await late.addInitScript((t) => localStorage.setItem("focusbox-token", t), token);
    // the page's first status and log answers are computed when asked and delivered only when released
    const held = async (path: string) => {
      const hold = { answer: "", release: () => {} };
      const released = new Promise<void>((resolve) => (hold.release = resolve));
      await late.route(`**${path}*`, async (route) => {
        const response = await route.fetch();
        hold.answer ||= await response.text();
        await released;
        await route.fulfill({ response, body: await response.text() });
      });
      return hold;
    };
    const [heldStatus, heldLog] = [await held("/api/status"), await held("/api/log")];
    const startUm = (await status()).positionUm;
    expect((await post("/api/stage/move", { zUm: startUm })).status).toBe(200); // a logged operation before the page loads

    await cancelledRun(async () => {
      await late.goto(serve.url);
      await expect.poll(() => heldStatus.answer).toMatch(/"state":"busy"/);
      await expect.poll(() => late.textContent("#state")).toBe("busy: autofocus");
    });
    await expect.poll(() => late.textContent("#state")).toBe("idle");
    heldStatus.release();
    await expect.poll(() => heldLog.answer).not.toBe(""); // the status answer was taken: the page went on to the log
    expect(await late.textContent("#state")).toBe("idle");
    expect(await late.isDisabled("#autofocus")).toBe(false);

    // a second run ends while the log answer (taken after the first) is held: the page must not lose its line
    const logLines = () => late.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
    await cancelledRun(async () => {});
    await expect.poll(logLines).toEqual([expect.stringMatching(/autofocus \(cancelled\)/), expect.stringMatching(/autofocus \(cancelled\)/)]); // both runs' events
    heldLog.release();
    type Op = { operation: string; outcome: string; detail: string };
    const all: Op[] = (await (await fetch(new URL("/api/log", serve.url))).json()).operations;
    const lines = all.reverse().map((o) => expect.stringContaining(`${o.operation} ${o.outcome === "done" ? "" : `(${o.outcome}) `}${o.detail}`));
    await expect.poll(logLines, { timeout: 5000 }).toEqual(lines);
    await late.close();
    expect((await post("/api/stage/move", { zUm: startUm })).status).toBe(200); // where the next test's calibration expects the stage
  });

  it("an older captures answer that arrives last does not hide the newest capture", async () => {
    const late = await context.newPage();
    late.on("pageerror", (e) => errors.push(e.message));
    await late.goto(serve.url);
    await expect.poll(() => late.textContent("#state")).toBe("idle");
    const items = () => late.locator("#captures li").count();
    const before = await items();
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = 0; // answers held so far: only the first is
    await late.route("**/api/captures", async (route) => {
      const response = await route.fetch(); // answered now, delivered when released
      if (held++ === 0) await released;
      await route.fulfill({ response });
    });
    expect((await post("/api/capture")).status).toBe(201);
    await expect.poll(() => held).toBe(1); // the page asked for the list, and that answer is held
    expect((await post("/api/capture")).status).toBe(201);
    await expect.poll(items).toBe(before + 2);
    const delivered = late.waitForResponse((r) => new URL(r.url()).pathname === "/api/captures");
    release();
    await delivered;
    await late.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300))); // the page has handled it
    expect(await items()).toBe(before + 2);
    await late.close();
  });

  it("DeepFocus before any calibration says to calibrate; Calibrate shows that it runs and its profile appears without a reload", async () => {
    await page.selectOption("#method", "deepfocus");
    expect(await page.isVisible("#calibrate-hint")).toBe(true);
    const before = posts.length;
    await page.click("#autofocus");
    await expect.poll(() => page.textContent("#message")).toMatch(/^No calibration yet.*press Calibrate/);
    expect(posts.length).toBe(before);
    expect(await page.textContent("#state")).toBe("idle");

    await page.click("#calibrate");
    await expect.poll(() => page.textContent("#progress")).toMatch(/^calibrate running…|^calibrate: plane/);
    await expect.poll(() => page.textContent("#state"), { timeout: 90_000 }).toBe("idle");
    await expect.poll(() => page.$eval("#profile", (s) => Array.from((s as HTMLSelectElement).options).map((o) => o.value))).toContain("10x-na0.3");
    expect(await page.isVisible("#profile-label")).toBe(true);
    expect(await page.isHidden("#calibrate-hint")).toBe(true);
    expect(await page.inputValue("#method")).toBe("deepfocus");

    await page.click("#autofocus");
    await page.waitForFunction(() => /^image \d+ · z \S+ µm · blur \d+\.\d\d px$/.test(document.getElementById("progress")!.textContent ?? ""), undefined, { timeout: 30_000 });
    await expect.poll(() => page.textContent("#summary"), { timeout: 30_000 }).toMatch(/^deepfocus: /);
    expect(await page.textContent("#plot .u-series:nth-child(2) .u-label")).toBe("blur (px)");
    expect(await page.textContent("#summary")).toMatch(/→ -?\d+\.\d\d ± \d+\.\d\d µm · \d+ images/);
    // the tile map's colours saturate at the larger of the tiles' |Δz| and the run's uncertainty, not at noise
    const { lastResult: r } = await (await fetch(new URL("/api/status", serve.url))).json();
    const maxDz = Math.max(...r.tileFocusUm.map((z: number) => Math.abs(z - r.finalUm)));
    const deepest = await page.$$eval("#tiles div", (cells) => Math.min(...cells.map((c) => Math.min(...getComputedStyle(c).backgroundColor.match(/\d+/g)!.map(Number)))));
    expect(deepest).toBeCloseTo(255 - (120 * maxDz) / Math.max(maxDz, r.uncertaintyUm), -1);
  });

  it("timelapse: the browser checks the fields, the server's refusal shows in the timelapse panel, the plot follows a phone turned upright", async () => {
    const before = posts.length;
    await page.fill("#tl-interval", "0");
    await page.click("#tl-start");
    expect(await page.$eval("#tl-interval", (i) => (i as HTMLInputElement).validationMessage)).not.toBe("");
    await page.fill("#tl-interval", "0.5");
    await page.fill("#tl-planes", "0, two");
    await page.click("#tl-start");
    expect(await page.$eval("#tl-planes", (i) => (i as HTMLInputElement).validity.patternMismatch)).toBe(true);
    expect(posts.length).toBe(before);

    await page.fill("#tl-planes", "-2, 600");
    await page.click("#tl-start");
    await expect.poll(() => page.textContent("#tl-message")).toMatch(/zOffsetsUm.*500/);
    expect(await page.getAttribute("#tl-message", "class")).toBe("bad");
    expect(await page.textContent("#message")).not.toMatch(/zOffsetsUm/);

    await page.fill("#tl-planes", "0");
    await page.fill("#tl-count", "3");
    await page.selectOption("#tl-policy", "none");
    await page.click("#tl-start");
    await expect.poll(() => page.textContent("#tl-message")).toMatch(/^timelapse \S+ started$/);
    await page.waitForFunction(() => /^(running|finished): [1-9]/.test(document.getElementById("tl-summary")!.textContent ?? ""), undefined, { timeout: 20_000 });
    expect(await page.locator("#tl-plot .uplot").count()).toBe(1);
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
    await expect.poll(() => page.textContent("#tl-summary"), { timeout: 20_000 }).toMatch(/^finished: 3 captured/);
  });

  it("offline (the station stopped): the actions lock, and one that is tried says the station does not answer", async () => {
    serve.child.kill("SIGTERM");
    expect(await serve.exited).toBe(0);
    await expect.poll(() => page.textContent("#state")).toBe("offline");
    for (const id of ["#autofocus", "#capture", "#cancel", '[data-jog="10"]']) expect(await page.isDisabled(id)).toBe(true);
    await page.fill("#tl-count", "3");
    await page.click("#tl-start");
    await expect.poll(() => page.textContent("#tl-message")).toMatch(/^the station does not answer/);
  });
});
