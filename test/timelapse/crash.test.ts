import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readGrayImage } from "../../src/image/codec.js";
import { Rng } from "../../src/optics/rng.js";
import { dueMs } from "../../src/timelapse/job.js";
import { replay, type JournalRecord } from "../../src/timelapse/journal.js";
import { tempDir } from "../helpers.js";

const RUNNER = fileURLToPath(new URL("./crash-runner.ts", import.meta.url));
const INTERVAL_MS = 250;
const COUNT = 160;
const KILLS = 20;
/** Each kill comes up to this long after the runner printed "running". */
const KILL_DELAY_MAX_MS = 1000;
/**
 * Fewest kills that must land inside the job's schedule: a slow machine restarts slowly, and
 * kills stop while a restart (twice the slowest start-up seen) and the longest kill delay still
 * fit before the last point falls due, so the job cannot finish on its own.
 */
const MIN_KILLS = 5;

/**
 * Runs the runner; when `killAfterRunningMs` is given, kills it with SIGKILL that long after it
 * printed "running" (the job exists and runs), so kills land inside the job however long the
 * process takes to start. Resolves with its exit code/signal, output and start-up time (ms from
 * spawn to "running"; Infinity if it never printed it).
 */
function runChild(stateDir: string, killAfterRunningMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; startupMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let startupMs = Infinity;
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, stateDir, String(INTERVAL_MS), String(COUNT)]);
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      if (startupMs !== Infinity || !stdout.includes("running\n")) return;
      startupMs = Date.now() - t0;
      if (killAfterRunningMs !== undefined) timer = setTimeout(() => child.kill("SIGKILL"), killAfterRunningMs);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startupMs });
    });
  });
}

/** The directory of the newest job in `stateDir`. */
async function jobDirOf(stateDir: string): Promise<string> {
  const root = join(stateDir, "timelapse");
  return join(root, (await readdir(root)).sort().at(-1)!);
}

/** Wall-clock time (ms since the epoch) at which the job's last point falls due, from its journal's "created" record. */
async function scheduleEndMs(jobDir: string): Promise<number> {
  const created = JSON.parse((await readFile(join(jobDir, "journal.jsonl"), "utf8")).split("\n")[0]!) as JournalRecord;
  const { job } = replay([created]);
  return dueMs(job, job.total - 1);
}

describe("crash safety", () => {
  it(`survives up to ${KILLS} SIGKILLs at random moments of a running job: complete files, contiguous frame indexes, missed points accounted for, job finished`, async () => {
    const stateDir = tempDir();
    const rng = new Rng(8);
    let killed = 0;
    let endMs = Infinity;
    let slowestStartupMs = 0;
    while (killed < KILLS && Date.now() + 2 * slowestStartupMs + KILL_DELAY_MAX_MS < endMs) {
      const r = await runChild(stateDir, rng.uniform(0, KILL_DELAY_MAX_MS));
      expect(r.stderr).toBe("");
      if (r.signal !== "SIGKILL") expect.fail(`runner exited by itself (${r.code}) before kill ${killed}: ${r.stdout}`);
      killed++;
      slowestStartupMs = Math.max(slowestStartupMs, r.startupMs);
      if (endMs === Infinity) endMs = await scheduleEndMs(await jobDirOf(stateDir));
    }
    expect(killed).toBeGreaterThanOrEqual(MIN_KILLS);
    const last = await runChild(stateDir);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout.trim().split("\n").at(-1)).toBe("finished");

    const jobDir = await jobDirOf(stateDir);
    const lines = (await readFile(join(jobDir, "journal.jsonl"), "utf8")).split("\n");
    expect(lines.at(-1)).toBe("");
    const records = lines.slice(0, -1).map((l) => JSON.parse(l) as JournalRecord);
    const state = replay(records);
    expect(state.ended?.t).toBe("finished");

    const covered: number[] = [];
    for (const r of records) {
      if (r.t === "done") covered.push(r.index);
      if (r.t === "missed") {
        expect(r.reason).not.toBe("");
        for (let i = r.from; i <= r.to; i++) covered.push(i);
      }
    }
    expect(covered).toEqual([...Array(COUNT).keys()]);
    expect(state.missedRanges.some((m) => /focusbox was not running/.test(m.reason))).toBe(true);
    expect(state.done.length).toBeGreaterThan(5);

    const committed = state.done.flatMap((d) => d.files.flatMap((f) => [f, f.replace(".png", ".json")]));
    const onDisk = (await readdir(jobDir)).filter((f) => f !== "journal.jsonl" && f !== "focus.jsonl");
    expect(onDisk.sort()).toEqual(committed.sort());
    for (const d of state.done)
      for (const f of d.files) {
        const frame = await readGrayImage(join(jobDir, f));
        expect([frame.width, frame.height, frame.bitDepth]).toEqual([64, 48, 16]);
        expect(JSON.parse(await readFile(join(jobDir, f.replace(".png", ".json")), "utf8"))).toMatchObject({ index: d.index, file: f });
      }
    const focusLog = (await readFile(join(jobDir, "focus.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l).index);
    expect(focusLog).toEqual(state.done.map((d) => d.index));
  }, 90_000);
});
