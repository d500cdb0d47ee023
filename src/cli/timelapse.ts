import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { Config } from "../config/schema.js";
import { ConfigError, DeviceError } from "../errors.js";
import { createStation } from "../station/deepfocus.js";
import { AF_POLICIES, type TimelapseRequestInput } from "../timelapse/job.js";
import { TimelapseManager, type TimelapseStatus } from "../timelapse/manager.js";
import { tokenPath } from "../web/token.js";
import { clockFor, configFrom, int, printJson, runCommand } from "./common.js";

interface Remote {
  config?: string;
  url?: string;
  token?: string;
  json?: boolean;
}

interface StartOptions extends Remote {
  interval: number;
  count?: number;
  end?: string;
  policy: string;
  profile?: string;
  metric?: string;
  planes?: string;
  note?: string;
  local?: boolean;
}

/**
 * `focusbox timelapse start|stop|status`: talks to the running appliance's API (URL from
 * server.host/port, token from the state dir), or with `start --local` runs the job in this
 * process on the configured devices (Ctrl-C leaves it resumable by the next run).
 */
export function registerTimelapse(program: Command): void {
  const tl = program.command("timelapse").description("scheduled, focus-tracked image series");
  const remote = (c: Command) =>
    c
      .option("--config <file>", "config file (JSON)")
      .option("--url <url>", "appliance URL (default http://<server.host>:<server.port>/)")
      .option("--token <token>", "API token (default: the token file in the state dir)")
      .option("--json", "print the full status as JSON");
  remote(tl.command("start").description("start a timelapse"))
    .requiredOption("--interval <ms>", "milliseconds between points", int)
    .option("--count <n>", "number of points", int)
    .option("--end <time>", "last point at or before this ISO 8601 time with its UTC offset, e.g. 2030-01-01T08:00Z (instead of --count)")
    .option("--policy <p>", `autofocus per point: ${AF_POLICIES.join(", ")}`, "tracking")
    .option("--profile <name>", "DeepFocus calibration profile")
    .option("--metric <m>", "classical metric (policy classical)")
    .option("--planes <list>", "z offsets around focus per point (µm), e.g. -2,0,2", "0")
    .option("--note <text>", "note stored with every image")
    .option("--local", "run here on the configured devices instead of asking the appliance")
    .action((opts: StartOptions) =>
      runCommand(async () => {
        const request = requestFrom(opts);
        const config = await configFrom(opts.config);
        if (opts.local) return runLocal(config, request, opts.json);
        report(await call(config, opts, "POST", "", request), opts.json);
      }),
    );
  remote(tl.command("stop").description("stop the running timelapse")).action((opts: Remote) =>
    runCommand(async () => report(await call(await configFrom(opts.config), opts, "POST", "/stop", {}), opts.json)),
  );
  remote(tl.command("status").description("progress of the current or last timelapse")).action((opts: Remote) =>
    runCommand(async () => report(await call(await configFrom(opts.config), opts, "GET", ""), opts.json)),
  );
}

function requestFrom(o: StartOptions): TimelapseRequestInput {
  const zOffsetsUm = (o.planes ?? "0").split(",").map((s) => Number(s.trim()));
  if (zOffsetsUm.some((z) => !Number.isFinite(z))) throw new ConfigError(`--planes: "${o.planes}" is not a comma-separated list of numbers`);
  return {
    intervalMs: o.interval,
    count: o.count,
    endAt: o.end,
    autofocus: { policy: o.policy as never, profile: o.profile, metric: o.metric as never },
    capture: { zOffsetsUm, note: o.note },
  };
}

async function call(config: Config, o: Remote, method: "GET" | "POST", path: string, body?: unknown): Promise<TimelapseStatus> {
  const host = config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host;
  const base = (o.url ?? `http://${host}:${config.server.port}/`).replace(/\/?$/, "/");
  const token = o.token ?? (await readFile(tokenPath(config.stateDir), "utf8").catch(() => "")).trim();
  let res: Response;
  try {
    res = await fetch(`${base}api/timelapse${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new DeviceError(`cannot reach the appliance at ${base} (${(err as Error).message}); is focusbox serve running? (or use --local)`, "api");
  }
  const json = (await res.json().catch(() => ({}))) as TimelapseStatus & { error?: string; detail?: string };
  if (res.status === 400) throw new ConfigError(json.detail ?? "invalid request");
  if (!res.ok) throw new Error(`${res.status} ${json.error ?? ""}: ${json.detail ?? ""}`);
  return json;
}

async function runLocal(config: Config, request: TimelapseRequestInput, json?: boolean): Promise<void> {
  const { station, deepfocus } = await createStation(config, clockFor(config));
  await station.start();
  const manager = new TimelapseManager(station, { deepfocus });
  try {
    await manager.start();
    if (manager.status().state !== "running" && manager.status().state !== "paused") await manager.create(request);
    else process.stderr.write(`focusbox: resuming unfinished job ${manager.status().id}\n`);
    manager.events.on("status", (s) => !json && process.stderr.write(`${line(s)}\n`));
    const interrupted = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await Promise.race([manager.settled(), interrupted]);
  } finally {
    await manager.close();
    await station.stop();
  }
  report(manager.status(), json);
}

function report(s: TimelapseStatus, json?: boolean): void {
  if (json) printJson(s);
  else process.stdout.write(`${line(s)}\n`);
}

function line(s: TimelapseStatus): string {
  if (!s.job) return "no timelapse";
  const next = s.nextDueAt ? `, next ${s.nextDueAt}` : "";
  const err = s.error ? ` — ${s.error}` : "";
  return `${s.id}: ${s.state}, ${s.done} captured, ${s.missed} missed of ${s.job.total}${next}${err}`;
}
