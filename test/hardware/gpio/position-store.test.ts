import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeviceError } from "../../../src/errors.js";
import { POSITION_FILE, PositionStore } from "../../../src/hardware/stage/position-store.js";
import { tempStateDir } from "./fakes.js";

describe("stage position store", () => {
  it("reads nothing before the first write, then the last value written; creates the state dir", async () => {
    const dir = join(await tempStateDir(), "nested", "state");
    const store = PositionStore.inStateDir(dir);
    expect(await store.read()).toBeUndefined();
    await Promise.all([store.write({ positionUm: 1 }), store.write({ positionUm: 2 }), store.write({ positionUm: -3.5 })]);
    const saved = await store.read();
    expect(saved?.positionUm).toBe(-3.5);
    expect(Date.parse(saved!.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.parse(await readFile(join(dir, POSITION_FILE), "utf8"))).toEqual({ positionUm: -3.5, updatedAt: saved!.updatedAt });
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("ignores a torn temporary file left by a crash mid-write", async () => {
    const dir = await tempStateDir();
    const store = PositionStore.inStateDir(dir);
    await store.write({ positionUm: 42 });
    await writeFile(join(dir, `${POSITION_FILE}.999.0.tmp`), '{"positionUm": 13');
    expect((await store.read())?.positionUm).toBe(42);
  });

  it("a damaged position file is one DeviceError line saying what to do", async () => {
    const dir = await tempStateDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, POSITION_FILE), "{garbage");
    const err = await PositionStore.inStateDir(dir).read().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toMatch(/is damaged .*delete it and set zero again$/);
    expect((err as Error).message).not.toContain("\n");
  });

  it("a process killed (SIGKILL) while writing in a loop leaves a complete, parseable position", async () => {
    const dir = await tempStateDir();
    const file = join(dir, POSITION_FILE);
    for (const delayMs of [30, 170]) {
      const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures", "write-positions.ts"), file], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`writer exited early (${code})`)));
      });
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const saved = await new PositionStore(file).read();
      expect(saved?.positionUm).toBeGreaterThan(0);
      expect(Number.isInteger(saved!.positionUm * 2)).toBe(true);
    }
  });
});
