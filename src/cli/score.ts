import type { Command } from "commander";
import { createScorerForMethod, EVAL_METHODS } from "../autofocus/evaluate.js";
import { ConfigError } from "../errors.js";
import { readStack, type StackManifest } from "../hardware/zstack.js";
import { nyquistBinning } from "../optics/dof.js";
import { configFrom, printJson, runCommand } from "./common.js";

/**
 * `focusbox score --stack DIR --metric M [--binning N|auto] --json`: the ROI score of every
 * plane of a stack. `--binning` (DeepFocus only) bins frames N×N before scoring; `auto` (the
 * default) bins finely sampled stacks to Nyquist (nyquistBinning) when the manifest gives
 * `pixelSizeUm` and `objective.na`, else 1.
 */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score every plane of a z-stack with a focus metric or the DeepFocus CNN")
    .requiredOption("--stack <dir>", "z-stack directory (stack.json + planes)")
    .option("--metric <id>", `${EVAL_METHODS.join(", ")}`, "tenengrad")
    .option("--binning <n|auto>", "bin frames n×n before scoring (deepfocus; auto: to Nyquist from the stack's pixelSizeUm and objective)", "auto")
    .option("--config <file>", "config file (for the ROI)")
    .option("--json", "print JSON (default: a table)")
    .action((opts: { stack: string; metric: string; binning: string; config?: string; json?: boolean }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        const method = await createScorerForMethod(opts.metric, config.deepfocus);
        try {
          const stack = await readStack(opts.stack);
          const binning = opts.binning === "auto" ? (method.scorer.withBinning ? autoBinning(stack.manifest) : 1) : Number(opts.binning);
          if (![1, 2, 4, 8].includes(binning)) throw new ConfigError(`--binning "${opts.binning}": expected 1, 2, 4, 8 or auto`);
          const scorer = binning === 1 ? method.scorer : method.scorer.withBinning?.(binning);
          if (!scorer) throw new ConfigError(`--binning ${binning}: only deepfocus scores binned frames`);
          const planes = [];
          for (const plane of stack.planes) {
            const { score, tiles, valid } = await scorer.score(plane.frame, config.autofocus.roi);
            planes.push({ zUm: plane.zUm, score, tiles, ...(valid ? { valid } : {}) });
          }
          const out = { metric: scorer.id, higherIsSharper: scorer.higherIsSharper, binning, planes };
          if (opts.json) return printJson(out);
          for (const p of planes) process.stdout.write(`${p.zUm.toFixed(2).padStart(9)} µm  ${p.score.toPrecision(6)}\n`);
        } finally {
          await method.close();
        }
      }),
    );
}

function autoBinning(manifest: StackManifest): number {
  const na = manifest.objective?.na;
  return manifest.pixelSizeUm !== undefined && na !== undefined ? nyquistBinning(manifest.pixelSizeUm, na) : 1;
}
