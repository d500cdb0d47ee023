import type { Command } from "commander";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId } from "../focus/types.js";
import { ConfigError } from "../errors.js";
import { createDevices } from "../hardware/index.js";
import { Station } from "../station/station.js";
import { clockFor, configFrom, num, printJson, runCommand } from "./common.js";

/** `focusbox autofocus`: one autofocus on the configured devices, then exit. */
export function registerAutofocus(program: Command): void {
  program
    .command("autofocus")
    .description("run one autofocus on the configured devices")
    .option("--config <file>", "config file (JSON)")
    .option("--method <metric>", `metric: ${CLASSICAL_METRIC_IDS.join(", ")}`)
    .option("--strategy <s>", "brent | sweep")
    .option("--start <zUm>", "move here first (µm)", num)
    .option("--json", "print the full result as JSON")
    .action((opts: { config?: string; method?: string; strategy?: string; start?: number; json?: boolean }) =>
      runCommand(async () => {
        if (opts.method && !(CLASSICAL_METRIC_IDS as readonly string[]).includes(opts.method))
          throw new ConfigError(`unknown method "${opts.method}"; expected one of ${CLASSICAL_METRIC_IDS.join(", ")}`);
        if (opts.strategy && opts.strategy !== "brent" && opts.strategy !== "sweep") throw new ConfigError(`unknown strategy "${opts.strategy}"; expected brent or sweep`);
        const config = await configFrom(opts.config);
        const clock = clockFor(config);
        const station = new Station(config, await createDevices(config, clock), clock);
        await station.start();
        try {
          if (opts.start !== undefined) await station.move(opts.start);
          const result = await station.autofocus({ metric: opts.method as ClassicalMetricId | undefined, strategy: opts.strategy as "brent" | "sweep" | undefined });
          if (opts.json) printJson(result);
          else process.stdout.write(`${result.method}: ${result.startUm.toFixed(2)} → ${result.finalUm.toFixed(2)} µm with ${result.images} images in ${(result.durationMs / 1000).toFixed(2)} s\n`);
        } finally {
          await station.stop();
        }
      }),
    );
}
