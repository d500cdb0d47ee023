import type { Command } from "commander";
import { acquirePlanes, calibrateSweeps, calibrationSweep, sweepEnds, defaultProfileName, defaultProfilePath, saveProfile, scorePlanes, type BinnedSweep, type CalibrationProfile } from "../autofocus/calibration.js";
import { calibrationWarning } from "../autofocus/calibration-warning.js";
import type { Optics } from "../autofocus/deepfocus.js";
import { createScorerForMethod, knownStackOptics, type MethodScorer, type ScorerFactory } from "../autofocus/evaluate.js";
import type { Config } from "../config/schema.js";
import { createDevices } from "../hardware/index.js";
import { cameraPixelUm } from "../optics/dof.js";
import { readStack } from "../hardware/zstack.js";
import { clockFor, configFrom, num, printJson, runCommand } from "./common.js";

export interface CalibrateOptions {
  /** Calibrate from this recorded stack instead of acquiring one. */
  stack?: string;
  /** Profile name (default `<M>x-na<NA>`). */
  name?: string;
  /** Profile file (default `<stateDir>/calibration/<name>.json`). */
  out?: string;
  /** Live sweep, absolute µm (defaults: current position ± 20 DOF, step DOF / 4). */
  from?: number;
  to?: number;
  step?: number;
  config?: string;
}

/**
 * Calibrates the DeepFocus scorer and saves the profile; returns it, where it went, and what the
 * user should be told about it (`calibrationWarning`, against the stack manifest's optics, or the
 * config's for a live sweep).
 */
export async function calibrate(o: CalibrateOptions, createScorer?: ScorerFactory): Promise<{ file: string; profile: CalibrationProfile; warning: string | null }> {
  const config = await configFrom(o.config);
  const method = await (createScorer ?? ((m) => createScorerForMethod(m, config.deepfocus)))("deepfocus");
  try {
    const roi = config.autofocus.roi;
    const stack = o.stack ? await readStack(o.stack) : null;
    const { sweeps, optics } = stack ? { sweeps: await scorePlanes(stack.planes, method.scorer, roi), optics: knownStackOptics(stack, config) } : await acquireLive(config, method, o);
    const { magnification, na } = stack?.manifest.objective ?? config.objective;
    const name = o.name ?? defaultProfileName({ deepfocus: config.deepfocus, objective: { magnification, na } });
    const profile = calibrateSweeps(sweeps, { name, objective: { magnification, na }, scorer: method.scorer, roi, modelHash: method.modelHash });
    const file = o.out ?? defaultProfilePath(config.stateDir, name);
    await saveProfile(file, profile);
    return { file, profile, warning: calibrationWarning(profile, optics) };
  } finally {
    await method.close();
  }
}

/** A live sweep's planes and the configured optics. */
async function acquireLive(config: Config, method: MethodScorer, o: CalibrateOptions): Promise<{ sweeps: BinnedSweep[]; optics: Optics }> {
  const devices = await createDevices(config, clockFor(config));
  await devices.start();
  try {
    const pixelUm = cameraPixelUm(config.camera, devices.camera.info.pixelSizeUm, config.objective);
    const sweep = calibrationSweep(config.objective, pixelUm);
    const hereUm = devices.stage.positionUm();
    const ends = sweepEnds(hereUm, sweep.halfRangeUm, devices.stage.options);
    const range = { fromUm: o.from ?? ends.fromUm, toUm: o.to ?? ends.toUm, stepUm: o.step ?? sweep.stepUm };
    return { sweeps: await acquirePlanes(devices.camera, devices.stage, method.scorer, config.autofocus.roi, range), optics: { objective: config.objective, cameraPixelUm: pixelUm } };
  } finally {
    await devices.stop();
  }
}

/**
 * `focusbox calibrate [--stack DIR] [--name N] [--out FILE] [--from/--to/--step µm] --json`:
 * the DeepFocus calibration of the current objective — from a recorded stack of a flat
 * textured object, or acquired around the current (roughly focused) position.
 */
export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description("calibrate DeepFocus for the objective (z-stack of a flat textured object) and save the profile")
    .option("--stack <dir>", "use a recorded z-stack instead of acquiring one")
    .option("--name <name>", "profile name (default <M>x-na<NA>)")
    .option("--out <file>", "profile file (default <stateDir>/calibration/<name>.json)")
    .option("--from <zUm>", "first plane of the live sweep (µm)", num)
    .option("--to <zUm>", "last plane of the live sweep (µm)", num)
    .option("--step <um>", "plane spacing of the live sweep (µm)", num)
    .option("--config <file>", "config file (JSON)")
    .option("--json", "print the profile as JSON")
    .action((opts: CalibrateOptions & { json?: boolean }) =>
      runCommand(async () => {
        const { file, profile, warning } = await calibrate(opts);
        if (warning) process.stderr.write(`warning: ${warning}\n`);
        if (opts.json) return printJson({ file, ...profile });
        const k = profile.blurGrowthPx2PerUm2;
        const blur = k === undefined ? "no consistent blur matching k from the sweep (too short or too coarse, or its triples disagree)" : `blur matching's k ${k.toFixed(4)} px²/µm²`;
        process.stdout.write(`${profile.name}: FWHM ${profile.fwhmUm.toFixed(2)} µm over ${profile.curve.length} planes, binning ${profile.binning}, rising to ±${profile.captureRangeUm?.toFixed(1) ?? "?"} µm, tiles dropped [${profile.droppedTiles.join(", ")}], ${blur} → ${file}\n`);
      }),
    );
}
