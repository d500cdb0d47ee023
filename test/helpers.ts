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

/** A minimal little-endian, uncompressed, one-strip grayscale TIFF of 32-bit float or signed 16-bit samples (row-major). */
export function sampleTiff(width: number, height: number, samples: Float32Array | Int16Array): Buffer {
  const bytes = samples instanceof Float32Array ? 4 : 2;
  const entries: [number, number, number][] = [
    [256, 3, width], [257, 3, height], [258, 3, 8 * bytes], [259, 3, 1], [262, 3, 1],
    [273, 4, 0], [277, 3, 1], [278, 3, height], [279, 4, width * height * bytes], [339, 3, bytes === 4 ? 3 : 2],
  ];
  const ifdBytes = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdBytes;
  const buf = Buffer.alloc(dataOffset + width * height * bytes);
  buf.write("II", 0, "latin1");
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const o = 10 + i * 12;
    buf.writeUInt16LE(tag, o);
    buf.writeUInt16LE(type, o + 2);
    buf.writeUInt32LE(1, o + 4);
    if (type === 3) buf.writeUInt16LE(value, o + 8);
    else buf.writeUInt32LE(tag === 273 ? dataOffset : value, o + 8);
  });
  samples.forEach((v, i) => (bytes === 4 ? buf.writeFloatLE(v, dataOffset + 4 * i) : buf.writeInt16LE(v, dataOffset + 2 * i)));
  return buf;
}
