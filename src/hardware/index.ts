import { resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import type { Slide } from "../optics/slides.js";
import type { Button } from "./button/types.js";
import { FlatFieldCamera } from "./camera/flat-field.js";
import { createProcessCamera } from "./camera/index.js";
import type { Camera } from "./camera/types.js";
import type { Clock } from "./clock.js";
import type { Led } from "./led/types.js";
import { FocusStage } from "./stage/focus-stage.js";
import type { StageBackend } from "./stage/types.js";
import type { SimulatedMicroscope } from "./simulated-microscope.js";

/** The devices of one station, created from config; nothing is opened until `start()`. */
export interface Devices {
  camera: Camera;
  stage: FocusStage;
  button?: Button;
  led?: Led;
  /** Present when the simulated microscope backs the camera and stage (ground truth for tests). */
  microscope?: SimulatedMicroscope;
  /** Opens stage, camera, LED and button, in that order. */
  start(): Promise<void>;
  /** Halts the stage, then closes everything in reverse order. */
  stop(): Promise<void>;
}

/**
 * Creates the configured devices. Each backend module is imported only when selected, so
 * native packages never load where they are not used; a missing package fails in `start()`
 * with one line naming what to install, before anything moves.
 */
export async function createDevices(config: Config, clock: Clock): Promise<Devices> {
  const { camera: raw, backend, microscope, rangeUm } = await createCameraAndStage(config, clock);
  const { flatField } = config.camera;
  const camera = flatField ? new FlatFieldCamera(raw, flatField) : raw;
  const { backlashUm } = config.stage;
  const stage = new FocusStage(backend, { ...softLimits(config.stage, rangeUm), backlashUm });
  const button = await createButton(config, clock);
  const led = await createLed(config, clock);
  return {
    camera,
    stage,
    button,
    led,
    microscope,
    async start() {
      await backend.start();
      await camera.start();
      await led?.start();
      await button?.start();
    },
    async stop() {
      await backend.halt();
      await button?.stop();
      await led?.stop();
      await camera.stop();
      await backend.stop();
    },
  };
}

/**
 * The stage's soft limits: the configured ones, narrowed to the range the backend can reach at
 * all (a replay stack's planes), so searches and calibration sweeps stay where there are images.
 * @throws ConfigError when the two do not overlap.
 */
function softLimits(configured: { minUm: number; maxUm: number }, reach?: { minUm: number; maxUm: number }): { minUm: number; maxUm: number } {
  if (!reach) return { minUm: configured.minUm, maxUm: configured.maxUm };
  const minUm = Math.max(configured.minUm, reach.minUm);
  const maxUm = Math.min(configured.maxUm, reach.maxUm);
  if (!(minUm < maxUm))
    throw new ConfigError(`stage.minUm/maxUm [${configured.minUm}, ${configured.maxUm}] µm leave nothing of the replay stack's planes [${reach.minUm}, ${reach.maxUm}] µm`);
  return { minUm, maxUm };
}

async function createCameraAndStage(
  config: Config,
  clock: Clock,
): Promise<{ camera: Camera; backend: StageBackend; microscope?: SimulatedMicroscope; rangeUm?: { minUm: number; maxUm: number } }> {
  const cam = config.camera;
  const st = config.stage.backend;
  if (cam.kind === "simulated" && st.kind === "simulated") {
    const { SimulatedMicroscope } = await import("./simulated-microscope.js");
    const slide = config.microscope.sampleImage && (await loadImageSlide(config.microscope.sampleImage));
    const microscope = new SimulatedMicroscope({ objective: config.objective, microscope: config.microscope, camera: cam, stage: st, clock, slide });
    return { camera: microscope.camera, backend: microscope.stage, microscope };
  }
  if (cam.kind === "replay" && st.kind === "replay") {
    const { readStack } = await import("./zstack.js");
    const { ReplayStage } = await import("./stage/replay.js");
    const { ReplayCamera } = await import("./camera/replay.js");
    const stack = await readStack(cam.stackDir);
    const backend = new ReplayStage(stack);
    return { camera: new ReplayCamera(stack, backend), backend, rangeUm: backend.rangeUm };
  }
  if (cam.kind === "simulated" || cam.kind === "replay" || st.kind === "simulated" || st.kind === "replay")
    throw new Error("unreachable: the config schema pairs simulated and replay devices");
  return { camera: await createProcessCamera(cam, clock), backend: await createStageBackend(st, config.stateDir, clock) };
}

type RealStageConfig = Extract<Config["stage"]["backend"], { kind: "pigpio" | "gpiod" | "serial-bridge" }>;

async function createStageBackend(st: RealStageConfig, stateDir: string, clock: Clock): Promise<StageBackend> {
  switch (st.kind) {
    case "pigpio": {
      const { PigpioStage } = await import("./stage/pigpio.js");
      return new PigpioStage(st, { stateDir, clock });
    }
    case "gpiod": {
      const { GpiodStage } = await import("./stage/gpiod.js");
      return new GpiodStage(st, { stateDir, clock });
    }
    case "serial-bridge": {
      const { SerialBridgeStage } = await import("./stage/serial-bridge.js");
      return new SerialBridgeStage(st);
    }
  }
}

async function createButton(config: Config, clock: Clock): Promise<Button | undefined> {
  const b = config.button;
  switch (b.kind) {
    case "none":
      return undefined;
    case "gpio": {
      const { GpioButton } = await import("./button/gpio.js");
      return new GpioButton(b, { clock });
    }
    case "serial-bridge": {
      const { SerialBridgeButton } = await import("./button/serial-bridge.js");
      return new SerialBridgeButton(b);
    }
  }
}

async function createLed(config: Config, clock: Clock): Promise<Led | undefined> {
  const l = config.led;
  if (l.kind === "none") return undefined;
  const { GpioLed } = await import("./led/gpio.js");
  return new GpioLed(l, { clock });
}

/** The picture slide of `microscope.sampleImage`. @throws ConfigError naming the file when it cannot be read. */
async function loadImageSlide(image: { file: string; pixelUm: number }): Promise<Slide> {
  const [{ readGrayImage }, { imageSlide }] = await Promise.all([import("../image/codec.js"), import("../optics/image-slide.js")]);
  const picture = await readGrayImage(image.file).catch((err: Error) => {
    throw new ConfigError(`microscope.sampleImage.file "${image.file}": ${err.message}`);
  });
  return imageSlide(picture, image.pixelUm, resolve(image.file));
}
