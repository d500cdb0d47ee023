import type { Command } from "commander";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId } from "../focus/types.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import { readStack } from "../hardware/zstack.js";
import { ConfigError } from "../errors.js";
import { configFrom, printJson, runCommand } from "./common.js";

/** `focusbox score --stack DIR --metric M --json`: the ROI score of every plane of a stack. */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score every plane of a z-stack with a focus metric")
    .requiredOption("--stack <dir>", "z-stack directory (stack.json + planes)")
    .option("--metric <id>", `metric: ${CLASSICAL_METRIC_IDS.join(", ")}`, "tenengrad")
    .option("--config <file>", "config file (for the ROI)")
    .option("--json", "print JSON (default: a table)")
    .action((opts: { stack: string; metric: string; config?: string; json?: boolean }) =>
      runCommand(async () => {
        if (!(CLASSICAL_METRIC_IDS as readonly string[]).includes(opts.metric))
          throw new ConfigError(`unknown metric "${opts.metric}"; expected one of ${CLASSICAL_METRIC_IDS.join(", ")}`);
        const config = await configFrom(opts.config);
        const stack = await readStack(opts.stack);
        const scorer = createClassicalScorer(opts.metric as ClassicalMetricId);
        const planes = [];
        for (const plane of stack.planes) {
          const { score, tiles } = await scorer.score(plane.frame, config.autofocus.roi);
          planes.push({ zUm: plane.zUm, score, tiles });
        }
        const out = { metric: scorer.id, higherIsSharper: scorer.higherIsSharper, planes };
        if (opts.json) return printJson(out);
        for (const p of planes) process.stdout.write(`${p.zUm.toFixed(2).padStart(9)} µm  ${p.score.toPrecision(6)}\n`);
      }),
    );
}
