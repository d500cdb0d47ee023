import type { Command } from "commander";
import { EVAL_METHODS } from "../autofocus/evaluate.js";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId } from "../focus/types.js";
import { ConfigError } from "../errors.js";
import { createStation } from "../station/deepfocus.js";
import { clockFor, configFrom, num, printJson, runCommand } from "./common.js";

/** `focusbox autofocus`: one autofocus on the configured devices, then exit. */
export function registerAutofocus(program: Command): void {
  program
    .command("autofocus")
    .description("run one autofocus on the configured devices")
    .option("--config <file>", "config file (JSON)")
    .option("--method <m>", `deepfocus or a classical metric: ${CLASSICAL_METRIC_IDS.join(", ")} (default: autofocus.metric)`)
    .option("--strategy <s>", "classical search: brent | sweep")
    .option("--profile <name>", "DeepFocus calibration profile (default: deepfocus.profile)")
    .option("--start <zUm>", "move here first (µm)", num)
    .option("--json", "print the full result as JSON")
    .action((opts: { config?: string; method?: string; strategy?: string; profile?: string; start?: number; json?: boolean }) =>
      runCommand(async () => {
        if (opts.method && !(EVAL_METHODS as readonly string[]).includes(opts.method))
          throw new ConfigError(`unknown method "${opts.method}"; expected one of ${EVAL_METHODS.join(", ")}`);
        if (opts.strategy && opts.strategy !== "brent" && opts.strategy !== "sweep") throw new ConfigError(`unknown strategy "${opts.strategy}"; expected brent or sweep`);
        if (opts.method === "deepfocus" && opts.strategy) throw new ConfigError("--strategy is for a classical method; DeepFocus has its own search");
        if (opts.method !== "deepfocus" && opts.profile) throw new ConfigError("--profile is a DeepFocus calibration profile: give it with --method deepfocus");
        const config = await configFrom(opts.config);
        const { station } = await createStation(config, clockFor(config));
        await station.start();
        try {
          if (opts.start !== undefined) await station.move(opts.start);
          const result =
            opts.method === "deepfocus"
              ? await station.autofocus({ method: "deepfocus", profile: opts.profile })
              : await station.autofocus({ metric: opts.method as ClassicalMetricId | undefined, strategy: opts.strategy as "brent" | "sweep" | undefined });
          if (opts.json) printJson(result);
          else {
            const fallback = result.fallback ? ` (found by the ${result.fallback.metric} fallback${result.fallback.confirmed ? "" : ", not confirmed by DeepFocus"}; DeepFocus alone refused: ${result.fallback.reason})` : "";
            process.stdout.write(`${result.method}: ${result.startUm.toFixed(2)} → ${result.finalUm.toFixed(2)} µm with ${result.images} images in ${(result.durationMs / 1000).toFixed(2)} s${fallback}\n`);
          }
        } finally {
          await station.stop();
        }
      }),
    );
}
