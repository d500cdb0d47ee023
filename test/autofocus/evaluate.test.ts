import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { saveProfile } from "../../src/autofocus/calibration.js";
import { classicalRunner, createScorerForMethod, evaluate, parseStarts, resolveCalibration, summarize, type MethodScorer } from "../../src/autofocus/evaluate.js";
import { calibrate } from "../../src/cli/calibrate.js";
import { evalAf, registerEvalAf, runLine } from "../../src/cli/eval-af.js";
import { parseConfig } from "../../src/config/load.js";
import type { SampleKind } from "../../src/config/schema.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { VirtualClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { openStack, StackWriter } from "../../src/hardware/zstack.js";
import { SyntheticDeepFocusScorer } from "./synthetic.js";

/**
 * Small stacks of the simulated microscope (as `focusbox stack simulate` writes them, 64×48,
 * 16-bit). Row 0, outside the ROI, also carries the plane's true defocus: the synthetic
 * DeepFocus scorer reads it back on the replay backend. The camera is nearly noise-free (a full
 * well of 10⁹ e⁻), so the replay camera's interpolation between planes, which restores the
 * noise blending averages away, keeps that code exact to < 0.01 µm.
 */
async function simulateStack(dir: string, o: { focusUm: number; fromUm: number; toUm: number; stepUm: number; sample?: SampleKind; withFocus?: boolean }): Promise<string> {
  const config = parseConfig({
    clock: "virtual",
    camera: { kind: "simulated", width: 64, height: 48, bitDepth: 16, fullWellElectrons: 1e9, readNoiseElectrons: 0 },
    microscope: { sample: o.sample ?? "nuclei", focusUm: o.focusUm, seed: 3 },
    stage: { minUm: -1000, maxUm: 1000, backend: { kind: "simulated", slackUm: 0 } },
  });
  const devices = await createDevices(config, new VirtualClock());
  await devices.start();
  const writer = new StackWriter(dir);
  await writer.open();
  for (let z = o.fromUm; z <= o.toUm + 1e-9; z += o.stepUm) {
    await devices.stage.moveTo(z);
    const frame = await devices.camera.grab();
    frame.data.fill(Math.round((z - o.focusUm + 600) * 50), 0, frame.width);
    await writer.addPlane(z, frame);
  }
  await devices.stop();
  await writer.close(o.withFocus === false ? {} : { focusUm: o.focusUm, objective: { magnification: 10, na: 0.3 } });
  return dir;
}

const decodeDefocusUm = (f: Frame): number => f.data[0] / 50 - 600;
/** The synthetic DeepFocus scorer (model hash "synthetic-model"; `textured: false` = sees no valid tile) or a classical metric. */
const factory =
  (textured = true, modelHash = "synthetic-model") =>
  async (method: string): Promise<MethodScorer> =>
    method === "deepfocus"
      ? { scorer: new SyntheticDeepFocusScorer({ defocusUm: decodeDefocusUm, noise: 0.03, textured: () => textured }), modelHash, close: async () => {} }
      : createScorerForMethod(method);
const syntheticFactory = factory();

let dir: string;
let stacks: { calib: string; a: string; b: string; empty: string; noFocus: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fb-eval-"));
  const range = { fromUm: -48, toUm: 48, stepUm: 4 };
  stacks = {
    calib: await simulateStack(join(dir, "calib"), { focusUm: 0, fromUm: -64, toUm: 64, stepUm: 4 }),
    a: await simulateStack(join(dir, "a"), { focusUm: 0, ...range }),
    b: await simulateStack(join(dir, "b"), { focusUm: 10.5, fromUm: -36, toUm: 60, stepUm: 4 }),
    empty: await simulateStack(join(dir, "empty"), { focusUm: 0, ...range, sample: "empty" }),
    noFocus: await simulateStack(join(dir, "nofocus"), { focusUm: 0, fromUm: -8, toUm: 8, stepUm: 8, withFocus: false }),
  };
});

afterEach(() => vi.restoreAllMocks());

describe("eval-af", () => {
  it("parses --starts and summarises runs", () => {
    expect(parseStarts("-100:100:50")).toEqual([-100, -50, 0, 50, 100]);
    expect(parseStarts("7")).toEqual([7]);
    expect(() => parseStarts("1:2")).toThrow(/FROM:TO:STEP/);
    const runs = [
      { stack: "s", startUm: 0, finalUm: 0.2, focusUm: 0, errorUm: 0.2, images: 3 },
      { stack: "s", startUm: 1, finalUm: -0.4, focusUm: 0, errorUm: -0.4, images: 5 },
      { stack: "s", startUm: 2, finalUm: null, focusUm: 0, errorUm: null, images: 4, error: "x" },
    ];
    expect(summarize(runs)).toEqual({ meanAbsErrorUm: 0.3, sdAbsErrorUm: 0.1414, medianImages: 4, failures: 1, fallbacks: 0 });
  });

  it("deepfocus: the JSON contract, errors = finalUm − focusUm, image counts within --max-images", async () => {
    const report = await evalAf({ calibration: stacks.calib, stack: [stacks.a, stacks.b], method: "deepfocus", starts: "-40:40:20", maxImages: 4 }, syntheticFactory);
    expect(Object.keys(report)).toEqual(["method", "runs", "summary", "stacks", "skipped"]);
    expect(report.method).toBe("deepfocus");
    expect(report.runs).toHaveLength(10);
    for (const r of report.runs) {
      expect(Object.keys(r)).toEqual(["stack", "startUm", "finalUm", "focusUm", "errorUm", "images"]);
      expect(r.startUm - r.focusUm).toBeCloseTo([-40, -20, 0, 20, 40][report.runs.indexOf(r) % 5], 9);
      expect(r.errorUm).toBeCloseTo((r.finalUm as number) - r.focusUm, 3);
      expect(r.images).toBeLessThanOrEqual(4);
    }
    expect(report.runs[5]).toMatchObject({ stack: stacks.b, focusUm: 10.5, startUm: -29.5 });
    expect(Object.keys(report.summary)).toEqual(["meanAbsErrorUm", "sdAbsErrorUm", "medianImages", "failures", "fallbacks"]);
    expect(report.summary.failures).toBe(0);
    expect(report.summary.meanAbsErrorUm).toBeLessThan(0.3);
    // Each stack's own summary, in the order given.
    expect(report.stacks).toEqual([stacks.a, stacks.b].map((stack) => ({ stack, ...summarize(report.runs.filter((r) => r.stack === stack)) })));
  });

  it("deepfocus without --max-images: the budget is the config's deepfocus.maxImages", async () => {
    const spend = async (config?: string) => Math.max(...(await evalAf({ calibration: stacks.calib, stack: [stacks.a], method: "deepfocus", starts: "-40:40:40", config }, syntheticFactory)).runs.map((r) => r.images));
    const configFile = join(dir, "budget-4.json");
    await writeFile(configFile, JSON.stringify({ deepfocus: { maxImages: 4 } }));
    expect(await spend()).toBeGreaterThan(4);
    expect(await spend(configFile)).toBe(4);
  });

  it("failed runs report errorUm null and the error and count as failures; profiles of another model are refused", async () => {
    const profileDir = join(dir, "profile");
    const { scorer, modelHash } = await syntheticFactory("deepfocus");
    await saveProfile(join(profileDir, "profile.json"), await resolveCalibration(stacks.calib, { scorer, modelHash, close: async () => {} }, parseConfig({}).autofocus.roi, parseConfig({}).objective));

    const failed = await evalAf({ calibration: profileDir, stack: [stacks.empty], method: "deepfocus", starts: "-20:20:20", maxImages: 5 }, factory(false));
    expect(failed.summary).toMatchObject({ meanAbsErrorUm: null, sdAbsErrorUm: null, failures: 3 });
    for (const r of failed.runs) {
      expect(r).toMatchObject({ finalUm: null, errorUm: null, error: expect.stringMatching(/empty or featureless/) });
      // The first three show no valid tile: no more are taken (the calibration's measured k would place two more).
      expect(r.images).toBe(3);
    }
    await expect(evalAf({ calibration: profileDir, stack: [stacks.a], method: "deepfocus", starts: "0" }, factory(true, "another-model"))).rejects.toThrow(/recalibrate/);
    await expect(evalAf({ calibration: stacks.empty, stack: [stacks.a], method: "deepfocus", starts: "0" }, factory(false))).rejects.toThrow(/calibration: no tile is valid/);
  });

  it("classical methods ignore --calibration; stacks without focusUm are refused, starts off a stack skipped (refused when none is left)", async () => {
    const report = await evalAf({ calibration: join(dir, "does-not-exist"), stack: [stacks.a], method: "tenengrad", starts: "-40:40:40", maxImages: 20 }, syntheticFactory);
    expect(report.runs).toHaveLength(3);
    expect(report.runs.every((r) => r.images <= 20)).toBe(true);
    expect(report.summary.failures + report.runs.filter((r) => r.errorUm !== null && Math.abs(r.errorUm) < 4).length).toBe(3);
    await expect(evalAf({ stack: [stacks.noFocus], method: "tenengrad", starts: "0" }, syntheticFactory)).rejects.toThrow(/has no "focusUm"/);
    const outside = await simulateStack(join(dir, "outside"), { focusUm: 30, fromUm: -8, toUm: 8, stepUm: 8 });
    await expect(evalAf({ stack: [outside], method: "tenengrad", starts: "-40:40:10" }, syntheticFactory)).rejects.toThrow(/"focusUm" 30 µm lies outside its planes \(-8 … 8 µm\)/);
    const partly = await evalAf({ stack: [stacks.a], method: "tenengrad", starts: "-100:0:100" }, syntheticFactory);
    expect(partly.runs.map((r) => r.startUm - r.focusUm)).toEqual([0]);
    expect(partly.skipped).toEqual([{ stack: stacks.a, startUm: partly.runs[0].focusUm - 100 }]);
    await expect(evalAf({ stack: [stacks.a], method: "tenengrad", starts: "100" }, syntheticFactory)).rejects.toThrow(/no start offset \(100 µm from focus\) lies inside a stack's planes/);
    await expect(evalAf({ stack: [stacks.a], method: "deepfocus", starts: "0" }, syntheticFactory)).rejects.toThrow(/needs --calibration/);
    // --max-images caps every method's image count: a classical search cannot run within 2.
    await expect(evalAf({ stack: [stacks.a], method: "tenengrad", starts: "0", maxImages: 2 }, syntheticFactory)).rejects.toThrow(/needs maxImages ≥ 3/);
    await expect(evalAf({ stack: [stacks.a], method: "sharpest", starts: "0" }, syntheticFactory)).rejects.toThrow(/unknown method/);
  });

  it("classical: the coarse sweep over a ±100-µm stack ends on its last plane, not a rounding step past the stage's soft limit", async () => {
    // 12 coarse images over 200 µm: −100 + 11 × (200 / 11) = 100.00000000000003.
    const wide = await simulateStack(join(dir, "wide"), { focusUm: 0, fromUm: -100, toUm: 100, stepUm: 10 });
    const report = await evalAf({ stack: [wide], method: "tenengrad", starts: "0", maxImages: 20 }, syntheticFactory);
    expect(report.runs[0].error).toBeUndefined();
    expect(Math.abs(report.runs[0].errorUm!)).toBeLessThan(4);
  });

  it("classical: a stack shorter than a few coarse steps of its optics (11 planes at 2 µm, or optics defaulted at 10×) is still swept with several images", async () => {
    const short = await simulateStack(join(dir, "short"), { focusUm: 0, fromUm: -10, toUm: 10, stepUm: 2 });
    const report = await evalAf({ stack: [short], method: "tenengrad", starts: "-10:10:10" }, syntheticFactory);
    expect(report.summary.failures).toBe(0);
    for (const r of report.runs) expect(Math.abs(r.errorUm!)).toBeLessThan(2);
  });

  it("warns on stderr when focus lies near an end plane, the stack's objective is not the calibration profile's, or blur matching has no k", async () => {
    const edge = await simulateStack(join(dir, "edge"), { focusUm: 0, fromUm: -4, toUm: 48, stepUm: 4 });
    const x60 = join(dir, "x60");
    await simulateStack(x60, { focusUm: 0, fromUm: -24, toUm: 24, stepUm: 4 });
    const manifest = JSON.parse(await readFile(join(x60, "stack.json"), "utf8"));
    await writeFile(join(x60, "stack.json"), JSON.stringify({ ...manifest, objective: { magnification: 60, na: 1.4 } }));
    let err = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
    await evalAf({ calibration: stacks.calib, stack: [edge, x60, stacks.a], method: "deepfocus", starts: "0", maxImages: 3 }, syntheticFactory);
    vi.restoreAllMocks();
    expect(err).toContain(`eval-af: ${edge}: focus (0 µm) lies 4 µm from its first plane`);
    expect(err).toContain(`eval-af: ${x60}: recorded at 60×/NA 1.4, but the calibration profile "${stacks.calib}" is for 10×/NA 0.3`);
    // The test stacks give no pixel size, and their first row (the encoded z) leaves the calibration no consistent k: no blur matching, and eval-af says so.
    expect(err).toContain(`eval-af: ${stacks.a}: no blur matching`);
    expect(err.split("\n").filter((l) => l.startsWith(`eval-af: ${stacks.a}:`))).toHaveLength(1);
  });

  it("decodes an opened stack's planes only for its own runs, one stack after another", async () => {
    const events: string[] = [];
    const opened = async (name: string) => {
      const handle = await openStack(stacks[name as "a" | "b"]);
      return { name, stack: { ...handle, load: () => (events.push(`load ${name}`), handle.load()) } };
    };
    const config = parseConfig({});
    const { scorer } = await createScorerForMethod("tenengrad");
    const report = await evaluate({
      method: "tenengrad",
      stacks: [await opened("a"), await opened("b")],
      startsUm: [-20, 20],
      scorer,
      roi: config.autofocus.roi,
      runnerFor: (stack) => {
        const run = classicalRunner(stack, config, 20);
        return (ctx) => (events.push(`run ${stack.dir === stacks.a ? "a" : "b"}`), run(ctx));
      },
    });
    expect(events).toEqual(["load a", "run a", "run a", "load b", "run b", "run b"]);
    expect(report.summary.failures).toBe(0);
  });

  it("marks runs a fallback answered: the metric, and `unconfirmed` when its own peak answered alone; `fallbacks` counts both", async () => {
    const config = parseConfig({});
    const { scorer } = await createScorerForMethod("tenengrad");
    const marks = [undefined, { metric: "tenengrad", reason: "r", confirmed: true }, { metric: "tenengrad", reason: "r", confirmed: false }];
    const report = await evaluate({
      method: "deepfocus",
      stacks: [{ name: "a", stack: await openStack(stacks.a) }],
      startsUm: [-20, 0, 20],
      scorer,
      roi: config.autofocus.roi,
      runnerFor: (stack) => {
        const run = classicalRunner(stack, config, 20);
        let i = 0;
        return async (ctx) => ({ ...(await run(ctx)), fallback: marks[i++] });
      },
    });
    expect(report.runs.map((r) => [r.fallback, r.unconfirmed])).toEqual([[undefined, undefined], ["tenengrad", undefined], ["tenengrad", true]]);
    expect(report.summary.fallbacks).toBe(2);
    // The table says so too.
    expect(report.runs.map(runLine)).toEqual([
      expect.stringMatching(/start +-20\.0 µm \(-20\.0 from focus\)  error +-?[\d.]+ µm  \d+ images$/),
      expect.stringMatching(/  \d+ images, by the tenengrad fallback$/),
      expect.stringMatching(/  \d+ images, by the tenengrad fallback \(not confirmed by the method\)$/),
    ]);
  });

  it("calibrate --stack writes a named profile that eval-af then uses", async () => {
    const out = join(dir, "cal", "10x.json");
    const { file, profile } = await calibrate({ stack: stacks.calib, out }, syntheticFactory);
    expect(file).toBe(out);
    expect(profile).toMatchObject({ name: "10x-na0.3", objective: { magnification: 10, na: 0.3 }, modelHash: "synthetic-model", scorer: "deepfocus" });
    const report = await evalAf({ calibration: out, stack: [stacks.b], method: "deepfocus", starts: "25", maxImages: 3 }, syntheticFactory);
    expect(Math.abs(report.runs[0].errorUm as number)).toBeLessThan(0.3);
  });

  it("registerEvalAf: `focusbox eval-af … --json` prints the report (negative --starts accepted)", async () => {
    const program = new Command().exitOverride();
    registerEvalAf(program);
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    await program.parseAsync(["eval-af", "--stack", stacks.a, "--stack", stacks.b, "--method", "hpf", "--starts", "-20:20:20", "--max-images", "15", "--json"], { from: "user" });
    vi.restoreAllMocks();
    const report = JSON.parse(out);
    expect(report.method).toBe("hpf");
    expect(report.runs.map((r: { startUm: number }) => r.startUm)).toEqual([-20, 0, 20, -9.5, 10.5, 30.5]);
    await writeFile(join(dir, "report.json"), out);
    expect(JSON.parse(await readFile(join(dir, "report.json"), "utf8")).summary).toHaveProperty("medianImages");
  });
});
