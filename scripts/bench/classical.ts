import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId } from "../../src/focus/types.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { Rng } from "../../src/optics/rng.js";
import { Station } from "../../src/station/station.js";
import { mean, printTable, sd } from "./table.js";

const SAMPLES = ["tissue", "nuclei", "cells", "beads"] as const;

interface Method {
  metric: ClassicalMetricId;
  strategy: "brent" | "sweep";
  backlashUm?: number;
  /** The simulated lamp's frame-to-frame brightness variation (relative RMS; default 0). */
  flickerRms?: number;
}

/**
 * Classical autofocus accuracy on the simulated microscope (10×/0.3, defaults): `starts`
 * runs per method, start offsets uniform in ±50 µm, samples cycling through the textured
 * slides (seeded). Error = physical defocus after the run.
 */
export async function benchClassical(starts = 50, methods = allMethods()): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const m of methods) {
    const errors: number[] = [];
    const images: number[] = [];
    let failures = 0;
    const rng = new Rng(2024);
    const t0 = performance.now();
    for (let i = 0; i < starts; i++) {
      const sample = SAMPLES[i % SAMPLES.length];
      const focusUm = rng.uniform(-50, 50);
      const overrides: ConfigInput = { clock: "virtual", microscope: { sample, seed: 100 + i, focusUm, flickerRms: m.flickerRms ?? 0 } };
      if (m.backlashUm !== undefined) overrides.stage = { backlashUm: m.backlashUm };
      const config = parseConfig(overrides);
      const clock = new VirtualClock();
      const station = new Station(config, await createDevices(config, clock), clock);
      await station.start();
      try {
        const result = await station.autofocus({ metric: m.metric, strategy: m.strategy });
        errors.push(Math.abs(station.devices.microscope!.defocusUm()));
        images.push(result.images);
      } catch {
        failures++;
      } finally {
        await station.stop();
      }
    }
    const label = `${m.metric}+${m.strategy}${m.backlashUm === 0 ? " (no backlash comp.)" : ""}${m.flickerRms ? `, lamp flicker ${m.flickerRms * 100} % RMS` : ""}`;
    rows.push([label, mean(errors), sd(errors), Math.max(...errors), mean(images), failures, (performance.now() - t0) / starts]);
  }
  printTable(
    `Classical autofocus on the simulator: ${starts} starts in ±50 µm, 10×/NA 0.3, 512×384, slack 3 µm`,
    ["method", "mean |error| µm", "SD µm", "max µm", "mean images", "failures", "wall ms/AF"],
    rows,
  );
}

/**
 * Every metric with Brent, the two common metrics with sweep-and-fit, Tenengrad + Brent without
 * backlash compensation, and the Brent pair of the DeepFocus bench under a 5 % flickering lamp.
 */
function allMethods(): Method[] {
  return [
    ...CLASSICAL_METRIC_IDS.map((metric) => ({ metric, strategy: "brent" as const })),
    { metric: "tenengrad", strategy: "sweep" },
    { metric: "hpf", strategy: "sweep" },
    { metric: "tenengrad", strategy: "brent", backlashUm: 0 },
    { metric: "tenengrad", strategy: "brent", flickerRms: 0.05 },
    { metric: "hpf", strategy: "brent", flickerRms: 0.05 },
  ];
}
