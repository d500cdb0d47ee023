import { InvalidArgumentError, type Command } from "commander";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { CanceledError, ConfigError, DeviceError, FocusNotFoundError } from "../errors.js";
import { RealClock, VirtualClock, type Clock } from "../hardware/clock.js";

/** Exit codes of the focusbox command. */
export const EXIT = { ok: 0, failure: 1, config: 2, focusNotFound: 3, device: 4, canceled: 130 } as const;

/** Commander argument parser for a finite number. */
export function num(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

/** Commander argument parser for a positive integer. */
export function int(value: string): number {
  const n = num(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

/** Commander argument parser for a TCP port (0 = any free port). */
export function port(value: string): number {
  const n = num(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a TCP port (0–65535)`);
  return n;
}

export async function configFrom(path: string | undefined): Promise<Config> {
  return loadConfig(path ?? process.env.FOCUSBOX_CONFIG);
}

export function clockFor(config: Config): Clock {
  return config.clock === "virtual" ? new VirtualClock() : new RealClock();
}

/** Runs a command body and maps focusbox errors to one clear stderr line and an exit code. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const error = err as Error;
    process.stderr.write(`focusbox: ${error.message}\n`);
    process.exitCode =
      err instanceof ConfigError ? EXIT.config
      : err instanceof FocusNotFoundError ? EXIT.focusNotFound
      : err instanceof DeviceError ? EXIT.device
      : err instanceof CanceledError ? EXIT.canceled
      : EXIT.failure;
    if (process.exitCode === EXIT.failure && process.env.FOCUSBOX_DEBUG) process.stderr.write(`${error.stack}\n`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Optics of images recorded elsewhere, as `--pixel-size-um`, `--magnification` and `--na` give them. */
export interface OpticsFlags {
  pixelSizeUm?: number;
  magnification?: number;
  na?: number;
}

/** Adds the optics flags (`stack import`, `refocus`): the sample-plane pixel, and the objective (magnification with NA). */
export function opticsOptions(command: Command): Command {
  return command
    .option("--pixel-size-um <um>", "pixel size in the sample plane (µm): camera pixel / magnification", num)
    .option("--magnification <x>", "objective magnification (with --na)", num)
    .option("--na <na>", "objective numerical aperture (with --magnification)", num);
}

/**
 * The optics flags checked: every value positive, magnification and NA together.
 * @throws ConfigError naming the flag.
 */
export function opticsFrom(opts: OpticsFlags): { pixelSizeUm?: number; objective?: { magnification: number; na: number } } {
  if ((opts.magnification === undefined) !== (opts.na === undefined)) throw new ConfigError("give --magnification and --na together");
  for (const [name, v] of [["--pixel-size-um", opts.pixelSizeUm], ["--magnification", opts.magnification], ["--na", opts.na]] as const)
    if (v !== undefined && !(v > 0)) throw new ConfigError(`${name} must be positive (got ${v})`);
  const objective = opts.magnification !== undefined && opts.na !== undefined ? { magnification: opts.magnification, na: opts.na } : undefined;
  return { pixelSizeUm: opts.pixelSizeUm, objective };
}
