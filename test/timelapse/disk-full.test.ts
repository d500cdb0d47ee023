import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readGrayImage } from "../../src/image/codec.js";
import { Journal, type JournalRecord } from "../../src/timelapse/journal.js";
import type { TimelapseStatus } from "../../src/timelapse/manager.js";
import { nodeFs, type StorageFs } from "../../src/timelapse/storage.js";
import { jobFiles, timelapseRig, type TimelapseRig } from "./rig.js";

let rig: TimelapseRig | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await rig?.manager.close();
  await rig?.station.stop();
  rig = undefined;
});

/** A disk that is full (clock ms since the job's start; points are due every 2000 ms) between two clock times: writes there store half their data, then fail with ENOSPC; statfs may lie or tell. */
function fullDisk(nowMs: () => number, fromMs: number, toMs: number, statfsTells: boolean): StorageFs {
  const full = () => nowMs() >= fromMs && nowMs() < toMs;
  return {
    ...nodeFs,
    async open(path, flags) {
      const fh = await nodeFs.open(path, flags);
      return {
        sync: () => fh.sync(),
        close: () => fh.close(),
        write: (async (data: Buffer, offset: number, length: number, position: number) => {
          if (!full()) return fh.write(data, offset, length, position);
          await fh.write(data, offset, Math.floor(length / 2), position);
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        }) as typeof fh.write,
      };
    },
    statfs: async (path) => (statfsTells && full() ? { bavail: 100, bsize: 4096 } : nodeFs.statfs(path)),
  };
}

async function runJob(statfsTells: boolean): Promise<{ status: TimelapseStatus; seen: TimelapseStatus[]; records: JournalRecord[]; files: string[]; dir: string }> {
  let now = () => 0;
  rig = await timelapseRig({}, { fs: fullDisk(() => now(), statfsTells ? 9_980 : 9_000, 17_000, statfsTells) });
  const { manager, station } = rig;
  const t0 = station.clock.nowMs();
  now = () => station.clock.nowMs() - t0;
  const seen: TimelapseStatus[] = [];
  manager.events.on("status", (s) => seen.push(s));
  // 2 s apart: the first point's full search (≈ 1.5 s of stage moves and frames here) fits in the interval.
  const created = await manager.create({ intervalMs: 2000, count: 14, autofocus: { policy: "tracking" }, minFreeBytes: 1024 * 1024 });
  await manager.settled();
  const dir = join(manager.dir, created.id!);
  const records = (await readFile(join(dir, "journal.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as JournalRecord);
  return { status: manager.status(), seen, records, files: await jobFiles(manager, created.id!), dir };
}

async function expectOnlyCompleteCommittedFiles(files: string[], dir: string, status: TimelapseStatus): Promise<void> {
  expect(files.filter((f) => f.includes(".tmp"))).toEqual([]);
  const pngs = files.filter((f) => f.endsWith(".png"));
  expect(pngs).toEqual(status.focus.map((f) => `t${String(f.index).padStart(6, "0")}-p00.png`));
  for (const f of pngs) expect((await readGrayImage(join(dir, f))).width).toBe(64);
  for (const f of pngs) expect(files).toContain(f.replace(".png", ".json"));
}

describe("full disk", () => {
  it("ENOSPC while writing: pauses with a clear error, leaves no partial file, resumes when space is freed", async () => {
    const { status, seen, records, files, dir } = await runJob(false);
    const paused = seen.find((s) => s.state === "paused");
    expect(paused?.error).toMatch(/disk full \(ENOSPC\) writing t0000\d\d-p00\.(png|json).*paused until space is freed/);
    expect(records.map((r) => r.t)).toContain("resumed");
    expect(status).toMatchObject({ state: "finished", nextIndex: 14 });
    expect(status.missed).toBeGreaterThanOrEqual(3);
    expect(status.done + status.missed).toBe(14);
    for (const m of status.missedRanges) expect(m.reason).toMatch(/disk full|paused/);
    expect(status.focus.at(-1)!.index).toBe(13);
    await expectOnlyCompleteCommittedFiles(files, dir, status);
  });

  it("free-space guard: pauses before the disk is full and resumes when space is freed", async () => {
    const { status, seen, records, files, dir } = await runJob(true);
    expect(seen.find((s) => s.state === "paused")?.error).toMatch(/disk nearly full: 0\.4 MiB free, the job keeps 1\.0 MiB free/);
    const kinds = records.map((r) => r.t);
    expect(kinds.indexOf("paused")).toBeLessThan(kinds.indexOf("resumed"));
    expect(status).toMatchObject({ state: "finished", done: 10, missed: 4 });
    expect(status.missedRanges.map((m) => [m.from, m.reason.slice(0, 26)])).toEqual([5, 6, 7, 8].map((i) => [i, "paused: disk nearly full: "]));
    await expectOnlyCompleteCommittedFiles(files, dir, status);
  });

  it("journal write failing (ENOSPC on the journal): the job keeps going, nothing half-committed, missed points say why", async () => {
    let now = () => 0;
    const append = Journal.prototype.append;
    vi.spyOn(Journal.prototype, "append").mockImplementation(function (this: Journal, r: JournalRecord) {
      if (r.t !== "created" && now() >= 3_500 && now() < 7_500) return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
      return append.call(this, r);
    });
    rig = await timelapseRig();
    const { manager, station } = rig;
    const t0 = station.clock.nowMs();
    now = () => station.clock.nowMs() - t0;
    const seen: TimelapseStatus[] = [];
    manager.events.on("status", (s) => seen.push(s));
    const created = await manager.create({ intervalMs: 1000, count: 12, autofocus: { policy: "tracking" }, minFreeBytes: 0 });
    await manager.settled();
    expect(seen.some((s) => /journal write failed: ENOSPC.*retrying/.test(s.error ?? ""))).toBe(true);
    const status = manager.status();
    expect(status).toMatchObject({ state: "finished", nextIndex: 12 });
    expect(status.done + status.missed).toBe(12);
    expect(status.missed).toBeGreaterThanOrEqual(3);
    expect(status.missedRanges.some((m) => /journal write failed/.test(m.reason))).toBe(true);
    const dir = join(manager.dir, created.id!);
    await expectOnlyCompleteCommittedFiles(await jobFiles(manager, created.id!), dir, status);
  });
});
