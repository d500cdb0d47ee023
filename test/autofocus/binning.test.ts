import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildCalibration, calibrateSweeps, saveProfile, scorePlanes } from "../../src/autofocus/calibration.js";
import { evalAf } from "../../src/cli/eval-af.js";
import { registerScore } from "../../src/cli/score.js";
import { parseConfig } from "../../src/config/load.js";
import type { SampleKind } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { readStack } from "../../src/hardware/zstack.js";
import { createDeepFocusScorer, type DeepFocusScorer } from "../../src/inference/deepfocus.js";
import { recordStack } from "../../src/station/record-stack.js";

/**
 * Finely sampled optics with the real shipped model: 40×/NA 0.75 on 3.45-µm camera pixels is
 * 0.086 µm in the sample, half the Nyquist pitch (DOF ≈ 1.1 µm). At full resolution a
 * 256-px window cannot hold the blur disc beyond ≈ 8 µm, so the curve turns down there.
 */
const OBJECTIVE = { magnification: 40, na: 0.75 };
const roi = { x: 0.2, y: 0.2, width: 0.6, height: 0.6, cols: 3, rows: 3 };

async function simulate(dir: string, sample: SampleKind, seed: number): Promise<string> {
  const config = parseConfig({
    clock: "virtual",
    objective: OBJECTIVE,
    camera: { kind: "simulated", width: 320, height: 256 },
    microscope: { sample, seed, focusUm: 0, driftUmPerHour: 0, jitterUm: 0 },
    stage: { minUm: -100, maxUm: 100, backend: { kind: "simulated", slackUm: 0 } },
  });
  const devices = await createDevices(config, new VirtualClock());
  await devices.start();
  try {
    return await recordStack(devices.camera, devices.stage, { fromUm: -14, toUm: 14, stepUm: 1, outDir: dir, meta: { focusUm: 0, objective: OBJECTIVE } });
  } finally {
    await devices.stop();
  }
}

let dir: string;
let scorer: DeepFocusScorer;
let stacks: { calib: string; nuclei: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fb-binning-"));
  scorer = await createDeepFocusScorer({ model: "int8" });
  stacks = { calib: await simulate(join(dir, "calib"), "tissue", 5), nuclei: await simulate(join(dir, "nuclei"), "nuclei", 9) };
}, 60_000);
afterAll(() => scorer.close());

describe("DeepFocus on finely sampled optics (binning)", () => {
  it("calibration bins 2×2, whose curve rises to the sweep's ends (a capture range over 13 µm, under 10 at full resolution); eval-af then finds focus from every start within 12 µm (11 DOF)", async () => {
    const sweeps = await scorePlanes((await readStack(stacks.calib)).planes, scorer, roi);
    expect(sweeps.map((s) => s.binning)).toEqual([1, 2, 4]);
    const meta = { name: "40x", objective: OBJECTIVE, scorer, roi, modelHash: scorer.info.sha256 };
    const fullRes = buildCalibration(sweeps[0].planes, meta, 1);
    const profile = calibrateSweeps(sweeps, meta);
    expect(fullRes.captureRangeUm).toBeLessThan(10);
    expect(profile.binning).toBe(2);
    expect(profile.captureRangeUm).toBeGreaterThan(13);

    const run = async (p: typeof profile) => {
      const file = join(dir, `profile-${p.binning}.json`);
      await saveProfile(file, p);
      const factory = async () => ({ scorer, modelHash: scorer.info.sha256, close: async () => {} });
      return evalAf({ calibration: file, stack: [stacks.nuclei], method: "deepfocus", starts: "-12:12:4", maxImages: 10 }, factory);
    };
    const binned = await run(profile);
    expect(binned.summary.failures).toBe(0);
    expect(Math.max(...binned.runs.map((r) => Math.abs(r.errorUm as number)))).toBeLessThan(0.4);
    // (Since blur matching starts the refinement at every budget, the full-resolution profile finds these starts too: its
    // refinement walks in from where blur matching puts focus. The binned curve's longer reach is what the 3-image search uses.)
  }, 120_000);

  it("`focusbox score` bins a stack to Nyquist from its manifest (scores stay in camera pixels), or as told", async () => {
    /** `focusbox score --stack <calib> --json …args`: what it printed and its exit code. */
    const score = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerScore(program);
      let out = "";
      let err = "";
      vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
      vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
      try {
        await program.parseAsync(["score", "--stack", stacks.calib, "--json", ...args], { from: "user" });
      } finally {
        vi.restoreAllMocks();
      }
      const code = process.exitCode ?? 0;
      process.exitCode = 0;
      return { out, err, code };
    };
    const scoreJson = async (...args: string[]) => JSON.parse((await score(...args)).out) as { binning: number; planes: { zUm: number; score: number }[] };
    const refused = async (...args: string[]) => {
      const { code, err } = await score(...args);
      return { code, err };
    };
    const auto = await scoreJson("--metric", "deepfocus");
    const full = await scoreJson("--metric", "deepfocus", "--binning", "1");
    expect([auto.binning, full.binning]).toEqual([2, 1]);
    // Said on stderr, so that a wrong pixel size in the manifest does not change the scores unseen.
    expect((await score("--metric", "deepfocus")).err).toMatch(/deepfocus: frames binned 2× \(auto: the manifest's [\d.]+ µm pixels oversample NA 0\.\d+/);
    const at = (r: typeof auto, zUm: number) => r.planes.find((p) => p.zUm === zUm)?.score as number;
    expect(at(auto, 14)).toBeGreaterThan(at(auto, 10)); // still rising 13 DOF out
    const full14 = at(full, 14) as number | null;
    expect(full14 === null || full14 < at(full, 8), `full resolution at 14 µm: ${full14}`).toBe(true); // the full-resolution window has turned down or sees no texture
    expect(Math.abs(at(auto, 0) - at(full, 0))).toBeLessThan(3); // same unit (camera px) in focus
    expect((await scoreJson("--metric", "tenengrad")).binning).toBe(1);

    expect(await refused("--metric", "tenengrad", "--binning", "2")).toEqual({ code: 2, err: "focusbox: --binning 2: only deepfocus scores binned frames\n" });
    expect((await refused("--metric", "deepfocus", "--binning", "3")).err).toMatch(/expected 1, 2, 4, 8 or auto/);
  }, 60_000);
});
