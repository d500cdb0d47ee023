import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { VirtualClock } from "../src/hardware/clock.js";
import { createDevices, type Devices } from "../src/hardware/index.js";
import { Station, type StationOptions } from "../src/station/station.js";

/** A fresh temporary directory (a station's state dir in tests). */
export function tempDir(prefix = "focusbox-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A started station on the simulated microscope with a virtual clock (instant, deterministic),
 * its state dir in a fresh temporary directory unless given. `devices` replaces device parts
 * (e.g. a fake button or LED).
 */
export async function simulatedStation(overrides: ConfigInput = {}, options: StationOptions = {}, devices: Partial<Devices> = {}): Promise<Station> {
  const config = parseConfig({ clock: "virtual", stateDir: tempDir(), ...overrides });
  const clock = new VirtualClock();
  const station = new Station(config, { ...(await createDevices(config, clock)), ...devices }, clock, options);
  await station.start();
  return station;
}

export interface ServeProcess {
  child: import("node:child_process").ChildProcessWithoutNullStreams;
  url: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Spawns the built `focusbox serve --port 0` with extra env and resolves once it logs its URL. */
export async function startServe(env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<ServeProcess> {
  const { spawn } = await import("node:child_process");
  const { BIN } = await import("./cli/run.js");
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0"], { env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after ${timeoutMs} ms: ${log}`)), timeoutMs);
    child.stderr.on("data", (d: Buffer) => {
      log += d;
      const m = /serving on (http:\/\/[^/]+\/)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}: ${log}`)));
  });
  return { child, url, exited, stderr: () => log };
}
