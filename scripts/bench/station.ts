import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { printTable } from "./table.js";

const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

interface Served {
  child: ChildProcess;
  url: string;
  token: string;
  /** The server's state directory (temporary; removed by `stop`). */
  stateDir: string;
  /** ms from spawn to the first 200 of /api/status. */
  readyMs: number;
}

/**
 * The station under load, on the simulated microscope (`focusbox serve` from dist/, virtual
 * clock so the autofocus is CPU-bound and deterministic — the worst case for latency):
 * 100 clients polling /api/status and one SSE client while an autofocus runs, compared with
 * the same autofocus without load; then idle RSS and start-up time to READY (first 200).
 */
export async function benchStation(clients = 100, startups = 5): Promise<void> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: npm run build first`);
  const env = { FOCUSBOX_CLOCK: "virtual", FOCUSBOX_MICROSCOPE__FOCUS_UM: "23", FOCUSBOX_LOG__LEVEL: "warn" };

  const quiet = await serveOnce(env);
  const baseline = await autofocus(quiet);
  await stop(quiet);

  const loaded = await serveOnce(env);
  const load = startLoad(loaded.url, clients);
  await new Promise((r) => setTimeout(r, 300));
  const underLoad = await autofocus(loaded);
  const stats = await load.stop();
  await stop(loaded);
  const same = JSON.stringify(baseline.result) === JSON.stringify(underLoad.result);
  const pct = (p: number) => stats.latencies[Math.min(stats.latencies.length - 1, Math.floor(p * stats.latencies.length))];
  printTable(
    `Station under load: ${clients} clients polling /api/status + 1 SSE client during an autofocus (simulator, virtual clock, 2-core x86)`,
    ["run", "AF wall s", "final z µm", "images", "status requests", "p50 ms", "p99 ms", "max ms", "errors", "SSE events", "result unchanged"],
    [
      ["no load", baseline.wallMs / 1000, baseline.result.finalUm, baseline.result.images, "–", "–", "–", "–", "–", "–", "–"],
      ["under load", underLoad.wallMs / 1000, underLoad.result.finalUm, underLoad.result.images, stats.latencies.length, pct(0.5), pct(0.99), stats.latencies.at(-1) ?? NaN, stats.errors, stats.sseEvents, same ? "yes" : "NO"],
    ],
  );
  if (!same) process.exitCode = 1;

  const rows: (string | number)[][] = [];
  for (let i = 0; i < startups; i++) {
    const s = await serveOnce({ FOCUSBOX_LOG__LEVEL: "warn" });
    await new Promise((r) => setTimeout(r, 2000));
    const rssMb = rssKb(s.child.pid!) / 1024;
    rows.push([i + 1, s.readyMs, rssMb]);
    await stop(s);
  }
  printTable(`focusbox serve start-up (spawn → first 200 of /api/status) and idle RSS after 2 s (simulator, real clock)`, ["run", "start-up ms", "idle RSS MB"], rows);
}

async function serveOnce(env: Record<string, string>): Promise<Served> {
  const stateDir = mkdtempSync(join(tmpdir(), "focusbox-bench-"));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, "serve", "--port", String(port)], { env: { ...process.env, ...env, FOCUSBOX_STATE_DIR: stateDir }, stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}/`;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(stateDir, { recursive: true, force: true });
      throw new Error(`focusbox serve exited with ${child.exitCode}`);
    }
    const ok = await fetch(`${url}api/status`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child, url, token: readFileSync(join(stateDir, "token"), "utf8").trim(), stateDir, readyMs: performance.now() - t0 };
}

async function autofocus(s: Served): Promise<{ wallMs: number; result: { finalUm: number; images: number; trace: unknown[] } }> {
  const t0 = performance.now();
  const res = await fetch(`${s.url}api/autofocus`, { method: "POST", headers: { authorization: `Bearer ${s.token}` } });
  if (!res.ok) throw new Error(`autofocus: ${res.status} ${await res.text()}`);
  const { finalUm, images, trace } = await res.json();
  return { wallMs: performance.now() - t0, result: { finalUm, images, trace } };
}

function startLoad(url: string, clients: number): { stop(): Promise<{ latencies: number[]; errors: number; sseEvents: number }> } {
  let running = true;
  const latencies: number[] = [];
  let errors = 0;
  let sseEvents = 0;
  const sse = new AbortController();
  const sseDone = fetch(`${url}api/events`, { signal: sse.signal })
    .then(async (res) => {
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) sseEvents += (decoder.decode(chunk.value).match(/^event: /gm) ?? []).length;
    })
    .catch(() => undefined);
  const poll = async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await fetch(`${url}api/status`);
        await res.arrayBuffer();
        if (res.ok) latencies.push(performance.now() - t);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const pollers = Array.from({ length: clients }, poll);
  return {
    async stop() {
      running = false;
      await Promise.all(pollers);
      sse.abort();
      await sseDone;
      latencies.sort((a, b) => a - b);
      return { latencies, errors, sseEvents };
    },
  };
}

async function stop(s: Served): Promise<void> {
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  await exited;
  rmSync(s.stateDir, { recursive: true, force: true });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
