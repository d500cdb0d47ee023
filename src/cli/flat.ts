import { access } from "node:fs/promises";
import type { Command } from "commander";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { writeAtomic } from "../files.js";
import { createDevices } from "../hardware/index.js";
import { encodePng } from "../image/codec.js";
import { meanFrame } from "../image/flat-field.js";
import { meanOf } from "../focus/stats.js";
import { clockFor, configFrom, int, printJson, runCommand } from "./common.js";

/**
 * Records a flat field: the mean of `frames` frames from the configured camera, taken as they
 * come (no stage move, and not flat-fielded by a `camera.flatField` already configured), saved
 * as a PNG at the camera's bit depth. Refuses to overwrite `out`.
 */
export async function recordFlatField(config: Config, frames: number, out: string): Promise<{ file: string; frames: number; meanDn: number; minDn: number }> {
  if (!(Number.isInteger(frames) && frames >= 1)) throw new ConfigError(`--frames must be a whole number ≥ 1, got ${frames}`);
  if (await access(out).then(() => true, () => false)) throw new ConfigError(`${out} exists; write the flat field to a new file`);
  const devices = await createDevices({ ...config, camera: { ...config.camera, flatField: undefined } }, clockFor(config));
  await devices.start();
  let flat;
  try {
    const grabbed = [];
    for (let i = 0; i < frames; i++) grabbed.push(await devices.camera.grab());
    flat = meanFrame(grabbed);
  } finally {
    await devices.stop();
  }
  await writeAtomic(out, await encodePng(flat));
  return { file: out, frames, meanDn: meanOf(flat.data), minDn: arrayMin(flat.data) };
}

function arrayMin(data: ArrayLike<number>): number {
  let min = Infinity;
  for (let k = 0; k < data.length; k++) min = Math.min(min, data[k]);
  return min;
}

/**
 * `focusbox flat --out FILE [--frames N]`: a flat field for `camera.flatField` or `stack import
 * --flat`, recorded on an empty, evenly lit field (no slide, or a clean area of it) at the exposure
 * the frames are taken with — or, recorded with no light, a dark frame (`darkFile`, `--dark-frame`).
 */
export function registerFlat(program: Command): void {
  program
    .command("flat")
    .description("record a flat field (the mean of several frames of an empty, evenly lit field), or with no light a dark frame, for camera.flatField or stack import --flat / --dark-frame")
    .requiredOption("--out <file>", "PNG file to write (must not exist)")
    .option("--frames <n>", "frames to average", int, 16)
    .option("--config <file>", "config file (JSON)")
    .option("--json", "print JSON")
    .action((opts: { out: string; frames: number; config?: string; json?: boolean }) =>
      runCommand(async () => {
        const result = await recordFlatField(await configFrom(opts.config), opts.frames, opts.out);
        if (opts.json) printJson(result);
        else process.stdout.write(`flat field: mean of ${result.frames} frames, mean ${result.meanDn.toFixed(1)} DN, lowest ${result.minDn} DN → ${result.file}\n`);
      }),
    );
}
