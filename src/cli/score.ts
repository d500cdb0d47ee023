import type { Command } from "commander";
import { createScorerForMethod, EVAL_METHODS } from "../autofocus/evaluate.js";
import { ConfigError } from "../errors.js";
import { readStack, type StackManifest } from "../hardware/zstack.js";
import type { Config } from "../config/schema.js";
import type { FocusScorer } from "../focus/types.js";
import { SpectralDefocusModel, SpectralDefocusScorer } from "../focus/spectral-defocus.js";
import { sharpestPlane } from "../focus/sharpest-plane.js";
import { nyquistBinning } from "../optics/dof.js";
import { configuredSamplePixelUm } from "../refocus/index.js";
import { configFrom, printJson, runCommand } from "./common.js";

/** What `score --metric` takes: the autofocus methods and the spectral defocus estimate. */
const SCORE_METRICS = [...EVAL_METHODS, "spectral"] as const;

/**
 * `focusbox score --stack DIR --metric M [--binning N|auto] --json`: the ROI score of every
 * plane of a stack. `--binning` (DeepFocus only) bins frames N×N before scoring; `auto` (the
 * default) bins finely sampled stacks to Nyquist (nyquistBinning) when the manifest gives
 * `pixelSizeUm` and `objective.na`, else 1. `--metric spectral` estimates each plane's |z| from
 * its power spectrum with the stack's optics (spectral-defocus.ts: the manifest's objective and
 * pixelSizeUm, the config's where the manifest is silent).
 */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score every plane of a z-stack with a focus metric or the DeepFocus CNN")
    .requiredOption("--stack <dir>", "z-stack directory (stack.json + planes)")
    .option("--metric <id>", SCORE_METRICS.join(", "), "tenengrad")
    .option("--binning <n|auto>", "bin frames n×n before scoring (deepfocus; auto: to Nyquist from the stack's pixelSizeUm and objective)", "auto")
    .option("--config <file>", "config file (for the ROI)")
    .option("--json", "print JSON (default: a table)")
    .action((opts: { stack: string; metric: string; binning: string; config?: string; json?: boolean }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        if (!(SCORE_METRICS as readonly string[]).includes(opts.metric)) throw new ConfigError(`unknown method "${opts.metric}"; expected one of ${SCORE_METRICS.join(", ")}`);
        const method = opts.metric === "spectral" ? null : await createScorerForMethod(opts.metric, config.deepfocus);
        try {
          const stack = await readStack(opts.stack);
          const base = method?.scorer ?? spectralScorer(stack.manifest, config);
          const binning = opts.binning === "auto" ? (base.withBinning ? autoBinning(stack.manifest) : 1) : Number(opts.binning);
          if (![1, 2, 4, 8].includes(binning)) throw new ConfigError(`--binning "${opts.binning}": expected 1, 2, 4, 8 or auto`);
          if (opts.binning === "auto" && binning > 1)
            process.stderr.write(`${base.id}: frames binned ${binning}× (auto: the manifest's ${stack.manifest.pixelSizeUm} µm pixels oversample NA ${stack.manifest.objective?.na}; check its pixel size, or give --binning 1)\n`);
          const scorer = binning === 1 ? base : base.withBinning?.(binning);
          if (!scorer) throw new ConfigError(`--binning ${binning}: only deepfocus scores binned frames`);
          const planes = [];
          for (const plane of stack.planes) {
            const { score, tiles, valid } = await scorer.score(plane.frame, config.autofocus.roi);
            planes.push({ zUm: plane.zUm, score, tiles, ...(valid ? { valid } : {}) });
          }
          const sharpest = sharpestPlane(planes, scorer.higherIsSharper);
          const sharpestUm = sharpest?.zUm ?? null;
          const { focusUm } = stack.manifest;
          const out = { metric: scorer.id, higherIsSharper: scorer.higherIsSharper, binning, sharpestUm, ...(focusUm !== undefined && { focusUm }), planes };
          if (opts.json) return printJson(out);
          for (const p of planes) process.stdout.write(`${p.zUm.toFixed(2).padStart(9)} µm  ${Number.isFinite(p.score) ? p.score.toPrecision(6) : "—  (no texture above the noise)"}\n`);
          const offset = sharpestUm !== null && focusUm !== undefined ? ` (${(sharpestUm - focusUm).toFixed(2)} µm from the stack's focusUm ${focusUm} µm)` : "";
          const within = sharpest !== null && sharpest.planesWithinNoise > 1 ? `; the middle of ${sharpest.planesWithinNoise} planes that read as sharp within the scores' noise` : "";
          process.stdout.write(sharpest === null ? `${scorer.id}: no plane is sharper than another (no plane has a score, or all score the same: an empty or saturated field?)\n` : `${scorer.id}: sharpest plane at z = ${sharpest.zUm.toFixed(2)} µm${offset}${within}\n`);
        } finally {
          await method?.close();
        }
      }),
    );
}

function autoBinning(manifest: StackManifest): number {
  const na = manifest.objective?.na;
  return manifest.pixelSizeUm !== undefined && na !== undefined ? nyquistBinning(manifest.pixelSizeUm, na) : 1;
}

/**
 * The spectral defocus scorer for a stack: the manifest's objective over the config's, the
 * manifest's sample pixel, else the configured camera's.
 * @throws ConfigError when no pixel size is known.
 */
function spectralScorer(manifest: StackManifest, config: Config): FocusScorer {
  const objective = { ...config.objective, ...manifest.objective };
  const samplePixelUm = manifest.pixelSizeUm ?? configuredSamplePixelUm({ ...config, objective });
  if (samplePixelUm === undefined) throw new ConfigError("--metric spectral needs the sample-plane pixel size: give pixelSizeUm in stack.json or camera.pixelSizeUm in the config");
  return new SpectralDefocusScorer(new SpectralDefocusModel({ objective, samplePixelUm }));
}
