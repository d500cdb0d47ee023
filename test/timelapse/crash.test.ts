import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readGrayImage } from "../../src/image/codec.js";
import { Rng } from "../../src/optics/rng.js";
import { replay, type JournalRecord } from "../../src/timelapse/journal.js";
import { tempDir } from "../helpers.js";

const RUNNER = fileURLToPath(new URL("./crash-runner.ts", import.meta.url));
const INTERVAL_MS = 250;
const COUNT = 100;
const KILLS = 20;

/** Runs the runner; kills it with SIGKILL after `killAfterMs` (if given); resolves with its exit code/signal and stdout. */
function runChild(stateDir: string, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, stateDir, String(INTERVAL_MS), String(COUNT)]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("crash safety", () => {
  it(`survives ${KILLS} SIGKILLs at random moments: complete files, contiguous frame indexes, missed points accounted for, job finished`, async () => {
    const stateDir = tempDir();
    const rng = new Rng(8);
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      const r = await runChild(stateDir, rng.uniform(250, 1600));
      expect(r.stderr).toBe("");
      if (r.signal === "SIGKILL") killed++;
      else expect.fail(`runner exited by itself (${r.code}) before kill ${k}: ${r.stdout}`);
    }
    expect(killed).toBe(KILLS);
    const last = await runChild(stateDir);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout.trim().split("\n").at(-1)).toBe("finished");

    const root = join(stateDir, "timelapse");
    const jobs = await readdir(root);
    const jobDir = join(root, jobs.sort().at(-1)!);
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
