import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { createDeepFocusPlugins } from "../../src/station/deepfocus.js";
import { Station } from "../../src/station/station.js";
import type { DeepFocusSource } from "../../src/timelapse/focus.js";
import { AF_POLICIES, type AfPolicy } from "../../src/timelapse/job.js";
import { TimelapseManager } from "../../src/timelapse/manager.js";
import { SyntheticDeepFocusScorer, syntheticProfile } from "../../test/autofocus/synthetic.js";
import { printTable } from "./table.js";

/** Lamp flicker (relative RMS) of the extra rows that repeat the moving policies under a flickering lamp. */
const FLICKER_RMS = 0.05;

/**
 * Timelapse on the simulated microscope with thermal drift (virtual clock): for each autofocus
 * policy, `points` points `intervalMs` apart while the focus drifts `driftUm`; reports AF images
 * per point and the defocus at each capture. DeepFocus policies use the shipped model with a
 * profile calibrated on the simulator ("model"), and the synthetic scorer ("synthetic"). The
 * moving policies with a real scorer are run again under a lamp flickering by FLICKER_RMS.
 */
export async function benchTimelapse(points = 200, intervalMs = 60_000, driftUm = 30): Promise<void> {
  const rows: (string | number)[][] = [];
  const add = async (policy: AfPolicy, scorer: "model" | "synthetic" | "-", flickerRms: number) => {
    const stateDir = mkdtempSync(join(tmpdir(), "focusbox-bench-"));
    const r = await run(policy, scorer, stateDir, points, intervalMs, driftUm, flickerRms)
      .catch((err: Error) => ({ error: err.message }))
      .finally(() => rmSync(stateDir, { recursive: true, force: true }));
    const label = flickerRms > 0 ? `${policy}, lamp flicker ${flickerRms * 100} %` : policy;
    rows.push("error" in r ? [label, scorer, "—", "—", "—", "—", r.error.slice(0, 80)] : [label, scorer, r.imagesPerPoint, r.meanAbsUm, r.maxAbsUm, r.within1, `${r.missed} missed`]);
  };
  for (const policy of AF_POLICIES)
    for (const scorer of policy === "deepfocus" || policy === "tracking" ? (["model", "synthetic"] as const) : (["-"] as const)) await add(policy, scorer, 0);
  for (const [policy, scorer] of [["deepfocus", "model"], ["tracking", "model"], ["classical", "-"]] as const) await add(policy, scorer, FLICKER_RMS);
  printTable(`Timelapse: ${points} points, ${driftUm} µm drift (simulator, 320×240)`, ["policy", "scorer", "AF images / point", "mean |defocus| µm", "max |defocus| µm", "captures within ±1 µm", "notes"], rows);
}

async function run(policy: AfPolicy, scorer: "model" | "synthetic" | "-", stateDir: string, points: number, intervalMs: number, driftUm: number, flickerRms: number) {
  const driftUmPerHour = driftUm / (((points - 1) * intervalMs) / 3.6e6);
  const config = parseConfig({ clock: "virtual", stateDir, camera: { kind: "simulated", width: 320, height: 240 }, microscope: { focusUm: 4, driftUmPerHour, flickerRms } });
  const clock = new VirtualClock();
  const devices = await createDevices(config, clock);
  const microscope = devices.microscope!;
  let source: DeepFocusSource;
  let station: Station;
  if (scorer === "model") {
    const plugins = await createDeepFocusPlugins(config);
    station = new Station(config, devices, clock, { calibrate: plugins.calibrate, onStopped: plugins.close });
    await station.start();
    await station.move(microscope.trueFocusUm());
    await station.calibrate({ name: "bench" });
    source = { ...plugins.source, profile: () => plugins.source.profile("bench") };
    await station.move(0);
  } else {
    station = new Station(config, devices, clock);
    await station.start();
    const synthetic = new SyntheticDeepFocusScorer({ defocusUm: (frame) => microscope.exposureDefocusUm(frame.timestampMs), noise: 0.05 });
    const profile = syntheticProfile();
    source = { scorer: async () => synthetic, profile: async () => profile, close: async () => {} };
  }
  const manager = new TimelapseManager(station, { deepfocus: source, nowMs: () => 1.7e12 + clock.nowMs() });
  const errors: number[] = [];
  manager.events.on("frame", () => errors.push(Math.abs(microscope.defocusUm())));
  try {
    await manager.create({ intervalMs, count: points, autofocus: { policy }, minFreeBytes: 0 });
    await manager.settled();
    const s = manager.status();
    return {
      imagesPerPoint: s.imagesPerPoint ?? Number.NaN,
      meanAbsUm: errors.reduce((a, b) => a + b, 0) / Math.max(1, errors.length),
      maxAbsUm: Math.max(...errors),
      within1: `${errors.filter((e) => e <= 1).length}/${errors.length}`,
      missed: s.missed,
    };
  } finally {
    await manager.close();
    await station.stop();
  }
}
