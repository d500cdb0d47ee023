import { serve } from "@hono/node-server";
import type { Command } from "commander";
import { createDevices } from "../hardware/index.js";
import { createLogger } from "../log.js";
import { Station } from "../station/station.js";
import { createApp } from "../web/app.js";
import { clockFor, configFrom, port as portArg, runCommand } from "./common.js";

/** `focusbox serve`: the appliance — devices, station, and the web page. */
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
        const port = opts.port ?? config.server.port;
        const hostname = opts.host ?? config.server.host;
        const log = createLogger(config.log.level);
        const clock = clockFor(config);
        const station = new Station(config, await createDevices(config, clock), clock);
        await station.start();
        station.events.on("result", ({ result }) => log.info({ finalUm: result.finalUm, images: result.images }, "autofocus done"));
        station.events.on("failed", (e) => log.warn(e, "operation failed"));
        const server = serve({ fetch: createApp(station).fetch, port, hostname }, (info) =>
          log.info(`focusbox serving on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${info.port}/`),
        );
        await new Promise<void>((resolve) => {
          const shutdown = (signal: string) => {
            log.info({ signal }, "shutting down");
            server.close();
            station.stop().then(resolve, (err: Error) => {
              log.error(err, "error while stopping");
              resolve();
            });
          };
          process.once("SIGTERM", () => shutdown("SIGTERM"));
          process.once("SIGINT", () => shutdown("SIGINT"));
        });
      }),
    );
}
