import type { Command } from "commander";
import { loadConfig } from "../config/load.js";
import { configFrom, printJson, runCommand } from "./common.js";

/** `focusbox config check FILE` and `focusbox config print`. */
export function registerConfig(program: Command): void {
  const config = program.command("config").description("validate or show the configuration");
  config
    .command("check <file>")
    .description("validate a config file (with FOCUSBOX_* env overrides); prints every error")
    .action((file: string) =>
      runCommand(async () => {
        await loadConfig(file);
        process.stdout.write(`${file}: ok\n`);
      }),
    );
  config
    .command("print")
    .description("print the effective configuration (defaults filled in)")
    .option("--config <file>", "config file (JSON)")
    .action((opts: { config?: string }) => runCommand(async () => printJson(await configFrom(opts.config))));
}
