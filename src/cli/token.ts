import type { Command } from "commander";
import { ensureToken, tokenPath } from "../web/token.js";
import { configFrom, runCommand } from "./common.js";

/** `focusbox token`: prints the station's API token (creating it, mode 0600, if there is none yet). */
export function registerToken(program: Command): void {
  program
    .command("token")
    .description("print the API token the web page and API ask for (created on first use)")
    .option("--config <file>", "config file (JSON)")
    .option("--path", "print where the token is stored instead")
    .action((opts: { config?: string; path?: boolean }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        const token = await ensureToken(config.stateDir);
        process.stdout.write(`${opts.path ? tokenPath(config.stateDir) : token}\n`);
      }),
    );
}
