import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BusyError, CanceledError, ConfigError } from "../../src/errors.js";
import type { Button, ButtonEvent } from "../../src/hardware/button/types.js";
import type { Led, LedPattern } from "../../src/hardware/led/types.js";
import type { Station } from "../../src/station/station.js";
import { SystemdNotifier } from "../../src/station/systemd.js";
import { ensureToken, tokenMatches, tokenPath } from "../../src/web/token.js";
import { simulatedStation, tempDir } from "../helpers.js";

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

class FakeButton implements Button {
  private listeners: ((e: ButtonEvent) => void)[] = [];
  async start() {}
  async stop() {}
  onPress(listener: (e: ButtonEvent) => void) {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }
  press(kind: ButtonEvent["kind"]) {
    for (const l of this.listeners) l({ kind, durationMs: kind === "short" ? 100 : 1500 });
  }
}

class FakeLed implements Led {
  readonly patterns: LedPattern[] = [];
  async start() {}
  async stop() {}
  set(p: LedPattern) {
    this.patterns.push(p);
  }
}

const settled = async (s: Station) => {
  while (s.state() === "busy") await new Promise((r) => setTimeout(r, 5));
};

describe("station state machine", () => {
  it("goes idle → busy(op) → idle, refuses a second operation, and logs each one", async () => {
    station = await simulatedStation({ microscope: { focusUm: 10 } });
    const events: string[] = [];
    station.events.on("state", (s) => events.push(s.operation ? `${s.state}(${s.operation})` : s.state));
    const af = station.autofocus();
    expect(station.status()).toMatchObject({ state: "busy", operation: "autofocus" });
    await expect(station.move(3)).rejects.toBeInstanceOf(BusyError);
    await expect(station.capture()).rejects.toThrow("busy: autofocus is running");
    await af;
    expect(events).toEqual(["busy(autofocus)", "idle"]);
    expect(station.log()).toMatchObject([{ seq: 1, operation: "autofocus", outcome: "done", detail: expect.stringMatching(/^tenengrad\+brent: 0\.00 → /) }]);
    expect(station.counters.operations.autofocus).toEqual({ done: 1, cancelled: 0, failed: 0 });
  });

  it("cancel returns to idle; a failure leaves the error state until acknowledged", async () => {
    station = await simulatedStation();
    const af = station.autofocus();
    await new Promise((r) => setImmediate(r));
    expect(await station.cancel()).toBe(true);
    await expect(af).rejects.toBeInstanceOf(CanceledError);
    expect(station.state()).toBe("idle");
    await expect(station.move(1e6)).rejects.toThrow(/soft limits/);
    expect(station.status()).toMatchObject({ state: "error", lastError: expect.stringMatching(/soft limits/) });
    expect(await station.cancel()).toBe(false);
    expect(station.state()).toBe("idle");
    expect(station.log().map((e) => e.outcome)).toEqual(["cancelled", "failed"]);
  });

  it("refuses operations once stopping", async () => {
    station = await simulatedStation();
    const s = station;
    await s.stop();
    station = undefined;
    await expect(s.move(1)).rejects.toThrow("busy: shutdown is running");
  });

  it("runs plugged-in autofocus methods with the profile and rejects unknown ones", async () => {
    const calls: unknown[] = [];
    station = await simulatedStation({}, {
      autofocusMethods: {
        deepfocus: async (ctx, request) => {
          calls.push(request);
          ctx.onImage({ zUm: 0, score: 1, tiles: [1], timeMs: 0 });
          await ctx.stage.moveTo(4, ctx.signal);
          return { method: "deepfocus", startUm: 0, finalUm: 4, trace: [], images: 3, durationMs: 10 };
        },
      },
    });
    const images: number[] = [];
    station.events.on("image", (e) => images.push(e.point.zUm));
    expect(await station.autofocus({ method: "deepfocus", profile: "10x" })).toMatchObject({ method: "deepfocus", finalUm: 4 });
    expect(calls).toEqual([{ profile: "10x" }]);
    expect(images).toEqual([0]);
    await expect(station.autofocus({ method: "nope" })).rejects.toBeInstanceOf(ConfigError);
    expect(station.methods()[0]).toBe("deepfocus");
  });

  it("lists calibration profiles from the state dir", async () => {
    station = await simulatedStation();
    mkdirSync(join(station.config.stateDir, "calibration"));
    writeFileSync(join(station.config.stateDir, "calibration", "10x-na0.3.json"), "{}");
    expect(await station.profiles()).toEqual(["10x-na0.3"]);
  });
});

describe("button and LED through the station", () => {
  it("LED follows the state; short press focuses; long press cancels", async () => {
    const button = new FakeButton();
    const led = new FakeLed();
    station = await simulatedStation({ microscope: { focusUm: 15 } }, {}, { button, led });
    expect(led.patterns).toEqual(["idle"]);
    button.press("short");
    await new Promise((r) => setImmediate(r));
    expect(station.status().operation).toBe("autofocus");
    button.press("short");
    button.press("long");
    await settled(station);
    expect(station.log().map((e) => `${e.operation}:${e.outcome}`)).toEqual(["autofocus:cancelled"]);
    await station.move(0);
    button.press("short");
    await settled(station);
    expect(station.log()[2]).toMatchObject({ operation: "autofocus", outcome: "done" });
    await station.move(1e6).catch(() => undefined);
    expect(led.patterns).toEqual(["idle", "busy", "idle", "busy", "idle", "busy", "idle", "busy", "error"]);
    await station.stop();
    station = undefined;
    expect(led.patterns.at(-1)).toBe("off");
  });

  it("long press calibrates when configured so (and still cancels while busy)", async () => {
    const button = new FakeButton();
    let calibrations = 0;
    station = await simulatedStation({}, { longPressAction: "calibrate", calibrate: async () => ({ kind: "stack", name: "c", path: "stacks/c", planes: ++calibrations }) }, { button });
    button.press("long");
    await settled(station);
    expect(calibrations).toBe(1);
    void station.autofocus().catch(() => undefined);
    button.press("long");
    await settled(station);
    expect(calibrations).toBe(1);
    expect(station.log().map((e) => `${e.operation}:${e.outcome}`)).toEqual(["calibrate:done", "autofocus:cancelled"]);
  });
});

describe("token", () => {
  it("is created once with crypto randomness and mode 0600, then reused", async () => {
    const dir = join(tempDir(), "state");
    const token = await ensureToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(tokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(await ensureToken(dir)).toBe(token);
    expect(await ensureToken(tempDir())).not.toBe(token);
    chmodSync(tokenPath(dir), 0o644);
    await ensureToken(dir);
    expect(statSync(tokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches(undefined, token)).toBe(false);
  });
});

describe("systemd notifier", () => {
  it("does nothing without NOTIFY_SOCKET", async () => {
    const n = new SystemdNotifier({ WATCHDOG_USEC: "20000000" }, "/nonexistent");
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs()).toBeNull();
    expect(await n.notify("READY=1")).toBe(false);
  });

  it("sends through the helper and pings the watchdog only while healthy", async () => {
    const dir = tempDir();
    const script = join(dir, "notify");
    const out = join(dir, "out");
    writeFileSync(script, `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> ${out}\n`, { mode: 0o755 });
    const n = new SystemdNotifier({ NOTIFY_SOCKET: "/run/test.sock", WATCHDOG_USEC: "40000", PATH: process.env.PATH }, script);
    expect(n.watchdogIntervalMs()).toBe(20);
    expect(await n.notify("READY=1", "STATUS=up")).toBe(true);
    let healthy = true;
    const stop = n.startWatchdog(() => healthy);
    await new Promise((r) => setTimeout(r, 150));
    healthy = false;
    await new Promise((r) => setTimeout(r, 60));
    const pings = readFileSync(out, "utf8").split("\n").filter((l) => l.includes("WATCHDOG=1")).length;
    await new Promise((r) => setTimeout(r, 100));
    stop();
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe("/run/test.sock READY=1 STATUS=up");
    expect(pings).toBeGreaterThan(1);
    expect(lines.filter((l) => l.includes("WATCHDOG=1")).length).toBe(pings);
    expect(new SystemdNotifier({ NOTIFY_SOCKET: "x", WATCHDOG_USEC: "1000", WATCHDOG_PID: "1" }).watchdogIntervalMs()).toBeNull();
  });
});
