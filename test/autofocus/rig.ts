import type { AutofocusContext } from "../../src/autofocus/types.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices, type Devices } from "../../src/hardware/index.js";
import type { SimulatedMicroscope } from "../../src/hardware/simulated-microscope.js";
import { SyntheticDeepFocusScorer, type SyntheticScorerOptions } from "./synthetic.js";

export interface Rig {
  ctx: AutofocusContext;
  devices: Devices;
  microscope: SimulatedMicroscope;
  scorer: SyntheticDeepFocusScorer;
}

/**
 * The simulated microscope (small 64×48 frames unless `frame` says otherwise, virtual clock, 3 µm slack, 10 µm backlash
 * compensation) with the synthetic DeepFocus scorer reading its true defocus (noise SD 0.05
 * unless given; `gain`, `falseMinimumUm`, `flatWithinUm`, `saturatesAtUm`: see SyntheticScorerOptions).
 */
export async function simulatedRig(
  microscope: NonNullable<ConfigInput["microscope"]> = {},
  curve: Pick<SyntheticScorerOptions, "noise" | "gain" | "falseMinimumUm" | "flatWithinUm" | "saturatesAtUm"> = {},
  frame: { width: number; height: number } = { width: 64, height: 48 },
): Promise<Rig> {
  const config = parseConfig({ clock: "virtual", camera: { kind: "simulated", ...frame }, microscope });
  const clock = new VirtualClock();
  const devices = await createDevices(config, clock);
  await devices.start();
  const scope = devices.microscope as SimulatedMicroscope;
  const scorer = new SyntheticDeepFocusScorer({
    defocusUm: (frame) => scope.exposureDefocusUm(frame.timestampMs),
    tiltUmPerMm: microscope.tiltUmPerMm,
    noise: 0.05,
    ...curve,
    textured: () => microscope.sample !== "empty",
  });
  return { ctx: { camera: devices.camera, stage: devices.stage, scorer, roi: config.autofocus.roi, clock }, devices, microscope: scope, scorer };
}
