import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ConfigInput } from "../../src/config/schema.js";
import type { SimulatedMicroscope } from "../../src/hardware/simulated-microscope.js";
import type { Station } from "../../src/station/station.js";
import type { DeepFocusSource } from "../../src/timelapse/focus.js";
import { TimelapseManager, type TimelapseOptions } from "../../src/timelapse/manager.js";
import { SyntheticDeepFocusScorer, syntheticProfile } from "../autofocus/synthetic.js";
import { simulatedStation } from "../helpers.js";

/** The synthetic DeepFocus scorer (reading the microscope's true defocus; a sample reading `gain` × the calibration's curve) and its profile. */
export function syntheticDeepFocus(microscope: SimulatedMicroscope, noise = 0.05, gain = 1): DeepFocusSource & { scorer(): Promise<SyntheticDeepFocusScorer> } {
  const scorer = new SyntheticDeepFocusScorer({ defocusUm: (frame) => microscope.exposureDefocusUm(frame.timestampMs), noise, gain });
  const profile = syntheticProfile();
  return { scorer: async () => scorer, profile: async () => profile, close: async () => {} };
}

export interface TimelapseRig {
  station: Station;
  microscope: SimulatedMicroscope;
  manager: TimelapseManager;
}

/** A simulated station (small 64×48 frames, virtual clock) with a timelapse manager on the synthetic DeepFocus scorer. */
export async function timelapseRig(overrides: ConfigInput = {}, options: TimelapseOptions = {}): Promise<TimelapseRig> {
  const station = await simulatedStation({ camera: { kind: "simulated", width: 64, height: 48 }, ...overrides });
  const microscope = station.devices.microscope!;
  const manager = new TimelapseManager(station, { deepfocus: syntheticDeepFocus(microscope), nowMs: virtualWallMs(station), ...options });
  await manager.start();
  return { station, microscope, manager };
}

/** Wall time that follows the virtual clock alone, so a second manager on the same station shares the timeline. */
export function virtualWallMs(station: Station): () => number {
  return () => 1.7e12 + station.clock.nowMs();
}

/** Files of a job directory. */
export async function jobFiles(manager: TimelapseManager, id: string): Promise<string[]> {
  return (await readdir(join(manager.dir, id))).sort();
}
