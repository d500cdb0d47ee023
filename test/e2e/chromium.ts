import { chromium, type BrowserContext } from "playwright-core";
import { tempDir } from "../helpers.js";

/** Debian's headless Chromium in a throw-away profile (1280×900), as the page tests drive it. */
export function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir("focusbox-chromium-"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
}
