import { access, constants, mkdir } from "node:fs/promises";
import type { Command } from "commander";
import type { Config } from "../config/schema.js";
import { createDevices } from "../hardware/index.js";
import { clockFor, configFrom, runCommand } from "./common.js";

interface Check {
  name: string;
  run: () => Promise<string>;
}

/**
 * `focusbox doctor`: on a device, opens (and closes) everything the config selects — the
 * stage backend, the camera process, LED and button — without moving, then loads the
 * DeepFocus model, and prints one line per part: what works, or what to install or enable.
 */
export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the configured devices, state directory and model without moving anything")
    .option("--config <file>", "config file (JSON)")
    .action((opts: { config?: string }) =>
      runCommand(async () => {
        const config = await configFrom(opts.config);
        process.stdout.write(`ok       config (${opts.config ?? process.env.FOCUSBOX_CONFIG ?? "defaults"})\n`);
        let failures = 0;
        for (const check of await checks(config)) {
          try {
            process.stdout.write(`ok       ${check.name}: ${await check.run()}\n`);
          } catch (err) {
            failures++;
            process.stdout.write(`MISSING  ${check.name}: ${(err as Error).message}\n`);
          }
        }
        if (failures > 0) process.exitCode = 1;
      }),
    );
}

async function checks(config: Config): Promise<Check[]> {
  const devices = await createDevices(config, clockFor(config));
  const openClose = async (part: { start(): Promise<void>; stop(): Promise<void> }): Promise<void> => {
    await part.start();
    await part.stop();
  };
  const list: Check[] = [
    {
      name: "state directory",
      run: async () => {
        await mkdir(config.stateDir, { recursive: true });
        await access(config.stateDir, constants.W_OK);
        return `${config.stateDir} is writable`;
      },
    },
    { name: `stage (${config.stage.backend.kind})`, run: async () => (await openClose(devices.stage.backend), `opened, position ${devices.stage.positionUm().toFixed(2)} µm`) },
    {
      name: `camera (${config.camera.kind})`,
      run: async () => {
        await devices.camera.start();
        try {
          const frame = await devices.camera.grab();
          return `${frame.width}×${frame.height}, ${frame.bitDepth}-bit frames`;
        } finally {
          await devices.camera.stop();
        }
      },
    },
    {
      name: "deepfocus model",
      run: async () => {
        const { createDeepFocusScorer } = await import("../inference/deepfocus.js");
        const scorer = await createDeepFocusScorer({ model: "int8" });
        const { sha256, provider, precision } = scorer.info;
        return `${precision}, sha256 ${sha256.slice(0, 12)}…, execution provider ${provider}`;
      },
    },
  ];
  if (devices.led) list.push({ name: `led (${config.led.kind})`, run: async () => (await openClose(devices.led!), "opened") });
  if (devices.button) list.push({ name: `button (${config.button.kind})`, run: async () => (await openClose(devices.button!), "opened") });
  return list;
}
