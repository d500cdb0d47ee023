#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { registerAutofocus } from "./autofocus.js";
import { registerCalibrate } from "./calibrate.js";
import { registerConfig } from "./config.js";
import { EXIT } from "./common.js";
import { registerDoctor } from "./doctor.js";
import { registerEvalAf } from "./eval-af.js";
import { registerFlat } from "./flat.js";
import { registerRefocus } from "./refocus.js";
import { registerScore } from "./score.js";
import { registerServe } from "./serve.js";
import { registerStack } from "./stack.js";
import { registerTimelapse } from "./timelapse.js";
import { registerToken } from "./token.js";

const program = new Command("focusbox")
  .description("autofocus appliance for manual microscopes")
  .version("0.1.0")
  .showHelpAfterError()
  // Argument errors (unknown option, missing required option, bad number) exit with the
  // documented code for invalid arguments, not commander's 1; help and version exit 0.
  .exitOverride();
// A reader that stops early (`focusbox score … | head`) ends the output, not the process with an EPIPE stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit();
});
registerServe(program);
registerAutofocus(program);
registerStack(program);
registerScore(program);
registerRefocus(program);
registerCalibrate(program);
registerFlat(program);
registerEvalAf(program);
registerConfig(program);
registerDoctor(program);
registerTimelapse(program);
registerToken(program);
try {
  await program.parseAsync();
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.config;
}
