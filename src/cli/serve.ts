import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Command } from "commander";
import { createLogger, type Logger } from "../log.js";
import { cameraRefocus } from "../refocus/index.js";
import type { Station } from "../station/station.js";
import { createStation } from "../station/deepfocus.js";
import { TimelapseManager } from "../timelapse/manager.js";
import { SystemdNotifier } from "../station/systemd.js";
import { createApp } from "../web/app.js";
import { ensureToken, tokenPath } from "../web/token.js";
import { clockFor, configFrom, port as portArg, runCommand } from "./common.js";

/**
 * `focusbox serve`: the appliance. Opens the devices, creates the token on first start,
 * serves page and API, tells systemd READY (and pings its watchdog while healthy); SIGTERM
 * cancels the running operation, stops the stage, closes camera and server, and exits.
 */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the appliance: devices, station and web page")
    .option("--config <file>", "config file (JSON)")
    .option("--port <n>", "override server.port (0: any free port)", portArg)
    .option("--host <addr>", "override server.host")
    .action((opts: { config?: string; port?: number; host?: string }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        const log = createLogger(config.log.level);
        const notifier = new SystemdNotifier();
        const token = await ensureToken(config.stateDir);
        const clock = clockFor(config);
        const { station, deepfocus, blur } = await createStation(config, clock);
        await station.start();
        station.events.on("operation", (e) => log.info(e, `${e.operation} ${e.outcome}`));
        const closing = new AbortController();
        // One refocus source for the API route and the timelapse policy: each model loads once,
        // and the RL baseline estimates blur with the station's DeepFocus model.
        const refocus = cameraRefocus(config, station.devices.camera.info.pixelSizeUm, blur);
        const timelapse = new TimelapseManager(station, { deepfocus, refocus });
        await timelapse.start();
        const app = createApp(station, { token, publicStatus: config.server.publicStatus, previewFps: config.server.previewFps, closing: closing.signal, timelapse, refocus });
        const hostname = opts.host ?? config.server.host;
        const server = await listen(app.fetch, opts.port ?? config.server.port, hostname);
        const { port } = server.address() as AddressInfo;
        log.info({ tokenFile: tokenPath(config.stateDir) }, `focusbox serving on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}/`);
        await notifier.notify("READY=1", `STATUS=serving on port ${port}`);
        const stopWatchdog = notifier.startWatchdog(() => server.listening && station.runningForMs() < config.server.maxOperationMs);
        await untilSignal(log);
        stopWatchdog();
        await shutdown({ station, timelapse, server, closing, notifier, log, timeoutMs: config.server.stopTimeoutMs });
      }),
    );
}

function listen(fetch: Parameters<typeof serve>[0]["fetch"], port: number, hostname: string): Promise<ServerType & { address(): AddressInfo | string | null; listening: boolean }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server as never));
    server.once("error", reject);
  });
}

function untilSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "shutting down");
      process.once(signal, () => {
        log.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      });
      resolve();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}

interface Running {
  station: Station;
  timelapse: TimelapseManager;
  server: ServerType;
  closing: AbortController;
  notifier: SystemdNotifier;
  log: Logger;
  timeoutMs: number;
}

/** Stops in reverse order of start: streams and server stop accepting, the operation is cancelled, devices close. */
async function shutdown({ station, timelapse, server, closing, notifier, log, timeoutMs }: Running): Promise<void> {
  const deadline = setTimeout(() => {
    log.error({ timeoutMs }, "shutdown took too long: exiting");
    process.exit(1);
  }, timeoutMs);
  deadline.unref();
  void notifier.notify("STOPPING=1");
  closing.abort();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ("closeIdleConnections" in server) server.closeIdleConnections();
  try {
    await timelapse.close();
    await station.stop();
  } catch (err) {
    log.error(err, "error while stopping the devices");
    process.exitCode = 1;
  }
  if ("closeAllConnections" in server) server.closeAllConnections();
  await closed;
  clearTimeout(deadline);
  log.info("stopped");
}
