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
 * configured DeepFocus model and refocus method, and prints one line per part: what works, or
 * what to install or enable. Exits 1 when any part is missing.
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
  return [
    {
      name: "state directory",
      run: async () => {
        await mkdir(config.stateDir, { recursive: true });
        await access(config.stateDir, constants.W_OK);
        return `${config.stateDir} is writable`;
      },
    },
    ...(await deviceChecks(config)),
    {
      name: `deepfocus model (${config.deepfocus.model})`,
      run: async () => {
        const { configuredDeepFocusScorer } = await import("../inference/deepfocus.js");
        const scorer = await configuredDeepFocusScorer(config.deepfocus, { warmupWindows: 1 });
        try {
          const { sha256, provider, precision } = scorer.info;
          return `${precision}, sha256 ${sha256.slice(0, 12)}…, execution provider ${provider}`;
        } finally {
          await scorer.close();
        }
      },
    },
    {
      name: `refocus (${config.refocus.method}${config.refocus.method === "net" || config.refocus.method === "auto" ? `, model ${config.refocus.model}` : ""})`,
      run: async () => {
        const { createRefocuser } = await import("../refocus/index.js");
        const refocuser = await createRefocuser(config.refocus.method, config);
        await refocuser.close();
        return "ready";
      },
    },
  ];
}

/** Stage, camera, LED and button, each opened and closed; one failing check when the config's devices cannot even be created. */
async function deviceChecks(config: Config): Promise<Check[]> {
  let devices: Awaited<ReturnType<typeof createDevices>>;
  try {
    devices = await createDevices(config, clockFor(config));
  } catch (err) {
    return [{ name: `devices (camera ${config.camera.kind}, stage ${config.stage.backend.kind})`, run: () => Promise.reject(err) }];
  }
  const openClose = async (part: { start(): Promise<void>; stop(): Promise<void> }): Promise<void> => {
    await part.start();
    await part.stop();
  };
  const list: Check[] = [
    { name: `stage (${config.stage.backend.kind})`, run: async () => (await openClose(devices.stage.backend), `opened, position ${devices.stage.positionUm().toFixed(2)} µm`) },
    {
      name: `camera (${config.camera.kind})`,
      run: async () => {
        await devices.camera.start();
        try {
          const frame = await devices.camera.grab();
          const { flatField } = config.camera;
          return `${frame.width}×${frame.height}, ${frame.bitDepth}-bit frames${flatField ? `, flat-fielded by ${flatField.file}${flatField.darkFile ? ` above the dark frame ${flatField.darkFile}` : ""}` : ""}`;
        } finally {
          await devices.camera.stop();
        }
      },
    },
  ];
  if (devices.led) list.push({ name: `led (${config.led.kind})`, run: async () => (await openClose(devices.led!), "opened") });
  if (devices.button) list.push({ name: `button (${config.button.kind})`, run: async () => (await openClose(devices.button!), "opened") });
  return list;
}
