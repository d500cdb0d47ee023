import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import type { Camera } from "./camera/types.js";
import type { Clock } from "./clock.js";
import { FocusStage } from "./stage/focus-stage.js";
import type { StageBackend } from "./stage/types.js";
import type { SimulatedMicroscope } from "./simulated-microscope.js";

/** The devices of one station, created from config; nothing is opened until `start()`. */
export interface Devices {
  camera: Camera;
  stage: FocusStage;
  /** Present when the simulated microscope backs the camera and stage (ground truth for tests). */
  microscope?: SimulatedMicroscope;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates the configured camera and stage. Each backend module is imported only when
 * selected, so native packages never load where they are not used.
 */
export async function createDevices(config: Config, clock: Clock): Promise<Devices> {
  const { camera, backend, microscope } = await createBackends(config, clock);
  const { minUm, maxUm, backlashUm } = config.stage;
  const stage = new FocusStage(backend, { minUm, maxUm, backlashUm });
  return {
    camera,
    stage,
    microscope,
    async start() {
      await backend.start();
      await camera.start();
    },
    async stop() {
      await backend.halt();
      await camera.stop();
      await backend.stop();
    },
  };
}

async function createBackends(config: Config, clock: Clock): Promise<{ camera: Camera; backend: StageBackend; microscope?: SimulatedMicroscope }> {
  const cam = config.camera;
  const st = config.stage.backend;
  if (cam.kind === "simulated" && st.kind === "simulated") {
    const { SimulatedMicroscope } = await import("./simulated-microscope.js");
    const microscope = new SimulatedMicroscope({ objective: config.objective, microscope: config.microscope, camera: cam, stage: st, clock });
    return { camera: microscope.camera, backend: microscope.stage, microscope };
  }
  if (cam.kind === "replay" && st.kind === "replay") {
    const { readStack } = await import("./zstack.js");
    const { ReplayStage } = await import("./stage/replay.js");
    const { ReplayCamera } = await import("./camera/replay.js");
    const stack = await readStack(cam.stackDir);
    const backend = new ReplayStage(stack);
    return { camera: new ReplayCamera(stack, backend), backend };
  }
  throw new ConfigError(`unsupported combination camera.kind=${cam.kind} with stage.backend.kind=${st.kind}`);
}
