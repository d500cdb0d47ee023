import type { Command } from "commander";
import { parseConfig } from "../config/load.js";
import { SAMPLE_KINDS, type Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { createDevices } from "../hardware/index.js";
import { importStack, type SampleMap } from "../hardware/zstack.js";
import { sampleFormatName } from "../image/codec.js";
import { readFlatField } from "../image/flat-field.js";
import { recordStack } from "../station/record-stack.js";
import { clockFor, configFrom, int, num, opticsFrom, opticsOptions, runCommand, type OpticsFlags } from "./common.js";

interface RangeOptions {
  from: number;
  to: number;
  step: number;
  out: string;
  config?: string;
}

/** `focusbox stack record|simulate`: make z-stack directories for calibration, replay and evaluation. */
export function registerStack(program: Command): void {
  const stack = program.command("stack").description("record or simulate z-stacks");
  stack
    .command("record")
    .description("record a z-stack from the configured camera and stage")
    .requiredOption("--from <zUm>", "first plane (µm)", num)
    .requiredOption("--to <zUm>", "last plane (µm)", num)
    .requiredOption("--step <um>", "plane spacing (µm)", num)
    .requiredOption("--out <dir>", "output directory")
    .option("--config <file>", "config file (JSON)")
    .option("--focus <zUm>", "known in-focus position to store as focusUm", num)
    .action((opts: RangeOptions & { focus?: number }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        await record(config, opts, opts.focus);
      }),
    );
  stack
    .command("simulate")
    .description("write a z-stack of the simulated microscope (focus at z = 0 unless configured)")
    .requiredOption("--out <dir>", "output directory")
    .option("--from <zUm>", "first plane (µm)", num, -150)
    .option("--to <zUm>", "last plane (µm)", num, 150)
    .option("--step <um>", "plane spacing (µm)", num, 1)
    .option("--sample <kind>", `virtual slide: ${SAMPLE_KINDS.join(", ")}`)
    .option("--sample-image <file>", "use an in-focus picture (8/16-bit PNG or TIFF) as the slide instead of --sample")
    .option("--sample-pixel-um <um>", "the picture's pixel size in the sample plane (µm), with --sample-image", num)
    .option("--seed <n>", "slide and noise seed", int)
    .option("--config <file>", "config file (objective, camera)")
    .action((opts: RangeOptions & SlideOptions & { seed?: number }) =>
      runCommand(async () => {
        if (opts.sample && !(SAMPLE_KINDS as readonly string[]).includes(opts.sample))
          throw new ConfigError(`unknown sample "${opts.sample}"; expected one of ${SAMPLE_KINDS.join(", ")}`);
        const base = await configFrom(opts.config);
        const config = simulationConfig(base, slideOf(base, opts), opts.seed);
        await record(config, opts, config.microscope.focusUm);
      }),
    );
  opticsOptions(
    stack
      .command("import")
      .description("make a stack directory from images recorded elsewhere: one multi-page TIFF, one directory of PNG, TIFF or JPEG planes, or several image files")
      .argument("<sources...>", "a multi-page TIFF, a directory (files in name order: z2 before z10, z-2 before z+2) or image files in plane order")
      .requiredOption("--out <dir>", "output directory (must not hold a stack.json)")
      .requiredOption("--step <um>", "z step from one plane to the next (µm; negative when the planes run downwards)", num)
      .option("--first <zUm>", "z of the first plane (µm)", num, 0)
      .option("--focus <zUm>", "known in-focus position to store as focusUm (needed by eval-af)", num),
  )
    .option("--channels <n>", "channels interleaved in the sources, channel fastest (an ImageJ hyperstack)", int, 1)
    .option("--channel <k>", "the channel to import, 1-based (with --channels)", int, 1)
    .option("--flat <file>", "divide every plane by this flat field (an empty, evenly lit field at the same exposure; 8/16-bit or float image)")
    .option("--dark-level <dn>", "the camera's dark level (counts) the planes and the flat lie above, with --flat", num, 0)
    .option("--dark-frame <file>", "a dark frame (recorded with no light) to subtract per pixel instead of --dark-level, with --flat: removes fixed-pattern offsets such as column stripes")
    .action((sources: string[], opts: ImportOptions) =>
      runCommand(async () => {
        const { pixelSizeUm, objective } = opticsFrom(opts);
        if (opts.darkFrame !== undefined && (opts.flat === undefined || opts.darkLevel !== 0)) throw new ConfigError("--dark-frame needs --flat, and replaces --dark-level: give one of --dark-level and --dark-frame");
        const flatField = opts.flat === undefined ? undefined : await readFlatField(opts.flat, opts.darkFrame ?? opts.darkLevel);
        const { zsUm, sampleMap } = await importStack(sources, {
          flatField,
          outDir: opts.out,
          firstUm: opts.first,
          stepUm: opts.step,
          channels: opts.channels,
          channel: opts.channel,
          meta: { focusUm: opts.focus, pixelSizeUm, objective },
        });
        process.stderr.write(`imported ${zsUm.length} planes, z ${zsUm[0]} … ${zsUm.at(-1)} µm: wrote ${opts.out}/stack.json\n`);
        const [loUm, hiUm] = [Math.min(...zsUm), Math.max(...zsUm)];
        if (opts.focus !== undefined && !(opts.focus >= loUm && opts.focus <= hiUm))
          process.stderr.write(`warning: --focus ${opts.focus} µm lies outside the planes (${loUm} … ${hiUm} µm): check --first and --step; eval-af refuses a stack whose focus it cannot reach\n`);
        if (sampleMap)
          process.stderr.write(`${sampleFormatName(sampleMap.sampleFormat)} samples mapped to 16 bit, one map for every plane: DN = ${mapFormula(sampleMap)}\n`);
      }),
    );
}

/** `importStack`'s sample map as a formula, e.g. "(value + 2) × 16383.8". */
function mapFormula({ offset, scale }: SampleMap): string {
  const value = offset === 0 ? "value" : `(value ${offset < 0 ? "+" : "−"} ${Math.abs(offset).toPrecision(6)})`;
  return `${value} × ${scale.toPrecision(6)}`;
}

interface ImportOptions extends OpticsFlags {
  out: string;
  step: number;
  first: number;
  focus?: number;
  channels: number;
  channel: number;
  flat?: string;
  darkLevel: number;
  darkFrame?: string;
}

interface SlideOptions {
  sample?: string;
  sampleImage?: string;
  samplePixelUm?: number;
}

/** The slide fields of the microscope config: the config's, replaced by --sample or by --sample-image. */
function slideOf(base: Config, o: SlideOptions): Pick<Config["microscope"], "sample" | "sampleImage"> {
  if (o.sampleImage === undefined) {
    if (o.samplePixelUm !== undefined) throw new ConfigError("--sample-pixel-um goes with --sample-image");
    return o.sample ? { sample: o.sample as Config["microscope"]["sample"], sampleImage: undefined } : base.microscope;
  }
  if (o.sample) throw new ConfigError("give --sample or --sample-image, not both");
  if (o.samplePixelUm === undefined) throw new ConfigError("--sample-image needs --sample-pixel-um: the picture's pixel size in the sample plane (µm)");
  return { sample: base.microscope.sample, sampleImage: { file: o.sampleImage, pixelUm: o.samplePixelUm } };
}

/** The config's simulated microscope on an ideal, drift-free stage and a virtual clock: z values are exact. */
function simulationConfig(base: Config, slide: Pick<Config["microscope"], "sample" | "sampleImage">, seed: number | undefined): Config {
  const camera = base.camera.kind === "simulated" ? base.camera : { kind: "simulated" as const };
  return parseConfig({
    ...base,
    clock: "virtual",
    camera,
    microscope: { ...base.microscope, sample: slide.sample, sampleImage: slide.sampleImage, seed: seed ?? base.microscope.seed, driftUmPerHour: 0, jitterUm: 0 },
    stage: { ...base.stage, minUm: -10_000, maxUm: 10_000, backend: { kind: "simulated", slackUm: 0 } },
  });
}

async function record(config: Config, o: RangeOptions, focusUm: number | undefined): Promise<void> {
  const clock = clockFor(config);
  const devices = await createDevices(config, clock);
  await devices.start();
  try {
    const { magnification, na } = config.objective;
    await recordStack(devices.camera, devices.stage, {
      fromUm: o.from,
      toUm: o.to,
      stepUm: o.step,
      outDir: o.out,
      meta: { focusUm, objective: { magnification, na } },
      onPlane: (zUm, i, n) => process.stderr.write(progressLine(`plane ${i + 1}/${n} at ${zUm.toFixed(2)} µm`)),
    });
    process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}wrote ${o.out}/stack.json\n`);
  } finally {
    await devices.stop();
  }
}

/** A progress line: rewritten in place on a terminal, one line each in a log or pipe. */
function progressLine(text: string): string {
  return process.stderr.isTTY ? `\r${text}` : `${text}\n`;
}
