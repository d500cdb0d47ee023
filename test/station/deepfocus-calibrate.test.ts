import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { createDeepFocusPlugins, type DeepFocusPlugins } from "../../src/station/deepfocus.js";
import type { Station } from "../../src/station/station.js";
import { simulatedStation, tempDir } from "../helpers.js";

let station: Station | undefined;
let plugins: DeepFocusPlugins | undefined;
afterEach(async () => {
  await station?.stop();
  await plugins?.close();
  station = plugins = undefined;
});

/** The station's DeepFocus calibration (real model) on the simulated 10× microscope, with the plug-ins configured for `magnification`. */
async function calibrateWith(magnification: number, stepUm = 8) {
  const stateDir = tempDir();
  plugins = await createDeepFocusPlugins(parseConfig({ stateDir, objective: { magnification, na: 0.3 } }));
  station = await simulatedStation({ stateDir }, { calibrate: plugins.calibrate });
  const outcome = await station.calibrate({ name: "t", halfRangeUm: 100, stepUm });
  return { outcome, profile: JSON.parse(readFileSync(join(station.config.stateDir, outcome.path), "utf8")) };
}

describe("DeepFocus calibration on the station", () => {
  it("keeps blur matching's measured k in the profile; warns when the configured objective is not the one the sweep shows", async () => {
    const right = await calibrateWith(10);
    expect(right.outcome).toMatchObject({ kind: "profile", warning: undefined });
    expect(right.profile.blurGrowthPx2PerUm2 / 0.2077).toBeGreaterThan(0.85);
    expect(right.profile.blurGrowthPx2PerUm2 / 0.2077).toBeLessThan(1.15);
    await station!.stop();
    await plugins!.close();
    // Configured as 20× on the same 3.45-µm camera: the sweep shows half that image scale.
    const wrong = await calibrateWith(20);
    expect(wrong.outcome.warning).toMatch(/blur grows 0\.[45]\d× as fast with defocus as the configured optics predict/);
  });

  it("warns when the sweep's planes are too far apart for the autofocus to match its images on them", async () => {
    const { outcome } = await calibrateWith(10, 25);
    expect(outcome.warning).toMatch(/the sweep's planes are 25\.00 µm apart, more than the refinement's first half-span/);
    expect(outcome.warning).not.toMatch(/blur grows/);
  });
});
