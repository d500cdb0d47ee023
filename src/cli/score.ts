import type { Command } from "commander";
import { createScorerForMethod, EVAL_METHODS } from "../autofocus/evaluate.js";
import { readStack } from "../hardware/zstack.js";
import { configFrom, printJson, runCommand } from "./common.js";

/** `focusbox score --stack DIR --metric M --json`: the ROI score of every plane of a stack. */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score every plane of a z-stack with a focus metric or the DeepFocus CNN")
    .requiredOption("--stack <dir>", "z-stack directory (stack.json + planes)")
    .option("--metric <id>", `${EVAL_METHODS.join(", ")}`, "tenengrad")
    .option("--config <file>", "config file (for the ROI)")
    .option("--json", "print JSON (default: a table)")
    .action((opts: { stack: string; metric: string; config?: string; json?: boolean }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        const { scorer, close } = await createScorerForMethod(opts.metric, config.deepfocus);
        try {
          const stack = await readStack(opts.stack);
          const planes = [];
          for (const plane of stack.planes) {
            const { score, tiles, valid } = await scorer.score(plane.frame, config.autofocus.roi);
            planes.push({ zUm: plane.zUm, score, tiles, ...(valid ? { valid } : {}) });
          }
          const out = { metric: scorer.id, higherIsSharper: scorer.higherIsSharper, planes };
          if (opts.json) return printJson(out);
          for (const p of planes) process.stdout.write(`${p.zUm.toFixed(2).padStart(9)} µm  ${p.score.toPrecision(6)}\n`);
        } finally {
          await close();
        }
      }),
    );
}
