import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../errors.js";
import { createRefocuser, pixelOptions, REFOCUS_METHODS } from "../refocus/index.js";
import { imageType, readImageFile, writeImageFile } from "../refocus/image-file.js";
import { configFrom, opticsFrom, opticsOptions, printJson, runCommand, type OpticsFlags } from "./common.js";

/**
 * `focusbox refocus IN OUT [--method net|rl|wiener|auto] [--pixel-size-um UM] [--magnification M --na NA]`:
 * single-shot digital refocus of one image file. PNG or TIFF in (8- or 16-bit grayscale), PNG
 * or TIFF out by OUT's extension, at the input's bit depth and size. The optics flags describe
 * the microscope that took the image (they override the config's objective and camera pixel).
 */
export function registerRefocus(program: Command): void {
  opticsOptions(
    program
      .command("refocus")
      .description("digitally refocus one defocused image (PNG/TIFF, 8- or 16-bit; output at the same bit depth)")
      .argument("<in>", "input image (.png, .tif, .tiff)")
      .argument("<out>", "output image (.png, .tif, .tiff)")
      .option("--method <m>", `${REFOCUS_METHODS.join(" | ")} (default: config refocus.method)`)
      .option("--config <file>", "config file (refocus and deepfocus models; the objective and camera pixel unless given below)")
      .option("--json", "print what was done as JSON"),
  ).action((input: string, output: string, opts: OpticsFlags & { method?: string; config?: string; json?: boolean }) =>
      runCommand(async () => {
        const optics = opticsFrom(opts);
        const base = await configFrom(opts.config);
        const config = optics.objective ? { ...base, objective: { ...base.objective, ...optics.objective } } : base;
        const method = opts.method ?? config.refocus.method;
        if (!(REFOCUS_METHODS as readonly string[]).includes(method)) throw new ConfigError(`--method: "${method}" is not one of ${REFOCUS_METHODS.join(", ")}`);
        const frame = await readImageFile(input);
        // A bad OUT extension or directory fails before the (slow) refocus.
        imageType(output);
        await access(dirname(resolve(output)), constants.W_OK).catch(() => {
          throw new ConfigError(`${output}: directory ${dirname(resolve(output))} does not exist or is not writable`);
        });
        const refocuser = await createRefocuser(method, config, pixelOptions(config, optics.pixelSizeUm));
        try {
          const { frame: out, info } = await refocuser.refocus(frame);
          await writeImageFile(output, out);
          const summary = { input, output, width: out.width, height: out.height, bits: out.data instanceof Uint8Array ? 8 : 16, ...info };
          if (opts.json) return printJson(summary);
          process.stdout.write(`${output}: ${out.width}×${out.height} ${summary.bits}-bit, ${info.method}, ${info.tiles} tiles, ${(info.durationMs / 1000).toFixed(2)} s\n`);
        } finally {
          await refocuser.close();
        }
      }),
    );
}
