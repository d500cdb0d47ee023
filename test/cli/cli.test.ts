import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { readStack, StackWriter } from "../../src/hardware/zstack.js";
import { encodePng } from "../../src/image/codec.js";
import { dustTransmission } from "../../src/optics/dust.js";
import { Rng } from "../../src/optics/rng.js";
import { focusbox } from "./run.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fb-cli-"));
});

describe("focusbox CLI", () => {
  it("config check prints every error with its dotted path and exits non-zero", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ server: { port: -1 }, objective: { na: "high" } }));
    const { code, stderr } = await focusbox(["config", "check", file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/server\.port/);
    expect(stderr).toMatch(/objective\.na: .*expected number/);
    const good = join(dir, "good.json");
    await writeFile(good, JSON.stringify({ server: { port: 9000 } }));
    expect((await focusbox(["config", "check", good])).code).toBe(0);
  });

  it("refuses options that do not belong to the method, and an end time without its UTC offset", async () => {
    const env = { FOCUSBOX_STATE_DIR: join(dir, "state-options") };
    const profile = await focusbox(["autofocus", "--method", "tenengrad", "--profile", "10x-na0.3"], env);
    expect([profile.code, profile.stderr]).toEqual([2, expect.stringMatching(/--profile is a DeepFocus calibration profile/)]);
    const strategy = await focusbox(["autofocus", "--method", "deepfocus", "--strategy", "sweep"], env);
    expect([strategy.code, strategy.stderr]).toEqual([2, expect.stringMatching(/--strategy is for a classical method/)]);
    const end = await focusbox(["timelapse", "start", "--local", "--interval", "1000", "--end", "2030-01-01T08:00"], env);
    expect([end.code, end.stderr]).toEqual([2, expect.stringMatching(/endAt: an ISO 8601 time with its UTC offset/)]);
  });

  it("stack simulate writes a stack that score --json reads back, sharpest at focus", async () => {
    const out = join(dir, "stack");
    const sim = await focusbox(["stack", "simulate", "--out", out, "--from", "-20", "--to", "20", "--step", "4", "--sample", "nuclei"]);
    expect(sim.code, sim.stderr).toBe(0);
    // Not a terminal: one progress line per plane, readable in a log.
    expect(sim.stderr.split("\n").filter((l) => /^plane \d+\/11 at /.test(l))).toHaveLength(11);
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8"));
    expect(manifest.planes).toHaveLength(11);
    expect(manifest.focusUm).toBe(0);
    // A stack is never overwritten: a second run into the same directory is refused and leaves it as it was.
    const again = await focusbox(["stack", "simulate", "--out", out, "--from", "-4", "--to", "4", "--step", "4"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/stack\.json exists; write the stack into a new directory/);
    expect(JSON.parse(await readFile(join(out, "stack.json"), "utf8"))).toEqual(manifest);
    const { code, stdout, stderr } = await focusbox(["score", "--stack", out, "--metric", "tenengrad", "--json"]);
    expect(code, stderr).toBe(0);
    const scored = JSON.parse(stdout);
    expect(scored).toMatchObject({ metric: "tenengrad", higherIsSharper: true });
    expect(scored.planes).toHaveLength(11);
    expect(scored.planes[0].tiles).toHaveLength(9);
    const best = scored.planes.reduce((a: { score: number }, b: { score: number }) => (b.score > a.score ? b : a));
    expect(best.zUm).toBe(0);
    expect(scored).toMatchObject({ sharpestUm: 0, focusUm: 0 });
    // The table ends with the sharpest plane and its offset from the stack's focus.
    const table = await focusbox(["score", "--stack", out, "--metric", "tenengrad"]);
    expect(table.stdout.trim().split("\n").at(-1)).toBe("tenengrad: sharpest plane at z = 0.00 µm (0.00 µm from the stack's focusUm 0 µm)");

    // The spectral estimate reads each plane's |z| in µm from the manifest's optics.
    const spectral = await focusbox(["score", "--stack", out, "--metric", "spectral", "--json"]);
    expect(spectral.code, spectral.stderr).toBe(0);
    const est = JSON.parse(spectral.stdout);
    expect(est).toMatchObject({ metric: "spectral", higherIsSharper: false, binning: 1 });
    for (const p of est.planes as { zUm: number; score: number }[]) expect(Math.abs(p.score - Math.abs(p.zUm)), `plane at ${p.zUm} µm read ${p.score}`).toBeLessThan(4);
  });

  it("calibrate --stack measures blur matching's k, and warns when the stack's optics disagree with it, or when its frames hold dust shadows (which a flat field at import removes)", async () => {
    const out = join(dir, "cal-stack");
    expect((await focusbox(["stack", "simulate", "--out", out, "--from", "-100", "--to", "100", "--step", "5", "--sample", "tissue"])).code).toBe(0);
    const cal = await focusbox(["calibrate", "--stack", out, "--out", join(dir, "cal.json"), "--json"]);
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.stderr).not.toMatch(/warning/);
    // 10×/NA 0.3 on 0.345-µm sample pixels: (tan θ / 2)² / pixel² = 0.2077 px²/µm².
    expect(JSON.parse(cal.stdout).blurGrowthPx2PerUm2 / 0.2077).toBeGreaterThan(0.85);
    expect(JSON.parse(cal.stdout).blurGrowthPx2PerUm2 / 0.2077).toBeLessThan(1.15);
    // The manifest claims pixels twice as large (a 2×2-binned camera, say): the sweep says otherwise.
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8"));
    await writeFile(join(out, "stack.json"), JSON.stringify({ ...manifest, pixelSizeUm: 2 * manifest.pixelSizeUm }));
    const wrong = await focusbox(["calibrate", "--stack", out, "--out", join(dir, "cal-wrong.json")]);
    expect(wrong.code, wrong.stderr).toBe(0);
    const warning = /warning: the sweep's defocus blur grows ([\d.]+)× as fast with defocus as the configured optics predict .*autofocus runs use the measured k/.exec(wrong.stderr);
    expect(Number(warning?.[1])).toBeGreaterThan(1.8);
    expect(Number(warning?.[1])).toBeLessThan(2.2);
    // eval-af with the right profile on the stack that claims the wrong pixels says the same, and its runs use the measured k.
    const ev = await focusbox(["eval-af", "--calibration", join(dir, "cal.json"), "--stack", out, "--method", "deepfocus", "--starts", "0", "--max-images", "3"]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/cal-stack  start +0\.0 µm \(\+0\.0 from focus\)  (error|failed)/);
    expect(ev.stderr).toMatch(/eval-af: .*cal-stack: with the optics of its manifest \(and the config's immersion index\), the sweep's defocus blur grows (1\.9\d|2\.0\d)× as fast/);

    // Dust on the camera window: dark soft specks, the same in every plane, that do not blur with focus.
    const dusty = join(dir, "cal-dusty");
    const writer = new StackWriter(dusty);
    await writer.open();
    const { planes, manifest: clean } = await readStack(out);
    const { width, height } = planes[0].frame;
    const transmission = dustTransmission(width, height, 0.05, new Rng(5));
    for (const { zUm, frame } of planes) await writer.addPlane(zUm, { ...frame, data: frame.data.map((v, k) => Math.round(v * transmission[k])) });
    const { planes: _planes, ...meta } = clean;
    await writer.close(meta);
    const dust = await focusbox(["calibrate", "--stack", dusty, "--out", join(dir, "cal-dusty.json"), "--json"]);
    expect(dust.code, dust.stderr).toBe(0);
    expect(dust.stderr).toMatch(/warning: far from focus the sweep's full-resolution frames read nearly as sharp as at focus \(the curve falls back \d+ % of its depth\): something in the images does not blur with focus — dust on the camera window/);
    expect(JSON.parse(dust.stdout).fullResolutionFallBack).toBeGreaterThan(0.6);
    expect(JSON.parse(cal.stdout).fullResolutionFallBack).toBeLessThan(0.4);
    // eval-af calibrating on it says so too.
    const evDusty = await focusbox(["eval-af", "--calibration", dusty, "--stack", dusty, "--method", "deepfocus", "--starts", "0", "--max-images", "3"]);
    expect(evDusty.stderr).toMatch(/eval-af: calibration .*cal-dusty: far from focus the sweep's full-resolution frames read nearly as sharp/);
    // A flat field of the same camera (an empty field through the same dust) removes the shadows at import: the calibration is the clean one's again.
    const flatFile = join(dir, "flat.png");
    await writeFile(flatFile, await encodePng({ width, height, bitDepth: 16, timestampMs: 0, data: Uint16Array.from(transmission, (t) => Math.round(50_000 * t)) }));
    const dustyManifest = JSON.parse(await readFile(join(dusty, "stack.json"), "utf8")) as { planes: { file: string; zUm: number }[] };
    const files = dustyManifest.planes.sort((a, b) => a.zUm - b.zUm).map((p) => join(dusty, p.file));
    const fielded = join(dir, "cal-flat-fielded");
    const imported = await focusbox(["stack", "import", ...files, "--out", fielded, "--first", String(planes[0].zUm), "--step", "5", "--flat", flatFile]);
    expect(imported.code, imported.stderr).toBe(0);
    const again = await focusbox(["calibrate", "--stack", fielded, "--out", join(dir, "cal-flat-fielded.json"), "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/warning: far from focus/);
    expect(JSON.parse(again.stdout).fwhmUm / JSON.parse(cal.stdout).fwhmUm).toBeCloseTo(1, 1);
  });

  it("a simulated microscope with dust on its camera window: calibrate warns; with a flat recorded on an empty field configured, it does not, and DeepFocus finds focus", async () => {
    const state = join(dir, "dust-state");
    const configFile = async (name: string, extra: object): Promise<string> => {
      const file = join(dir, name);
      await writeFile(file, JSON.stringify({ clock: "virtual", stateDir: state, ...extra }));
      return file;
    };
    const dusty = await configFile("dusty.json", { microscope: { dust: 0.05 } });
    const cal = await focusbox(["calibrate", "--config", dusty, "--out", join(dir, "dusty-profile.json")]);
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.stderr).toMatch(/warning: far from focus the sweep's full-resolution frames read nearly as sharp as at focus .* dust on the camera window/);
    const flatFile = join(dir, "sim-flat.png");
    const empty = await configFile("empty.json", { microscope: { dust: 0.05, sample: "empty" } });
    const rec = await focusbox(["flat", "--config", empty, "--out", flatFile, "--frames", "8"]);
    expect(rec.code, rec.stderr).toBe(0);
    const fielded = await configFile("fielded.json", { microscope: { dust: 0.05 }, camera: { kind: "simulated", flatField: { file: flatFile } } });
    const again = await focusbox(["calibrate", "--config", fielded, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/warning/);
    expect(JSON.parse(again.stdout)).toMatchObject({ binning: 1 });
    const af = await focusbox(["autofocus", "--config", fielded, "--method", "deepfocus", "--start", "40", "--json"]);
    expect(af.code, af.stderr).toBe(0);
    expect(Math.abs(JSON.parse(af.stdout).finalUm)).toBeLessThanOrEqual(0.3); // the simulator's focus: 0
  }, 120_000); // two calibrations and an autofocus in subprocesses: 35–43 s on an idle 2-core machine, past 60 s under load

  it("flat records the mean of frames from the configured camera as a PNG, and never overwrites one", async () => {
    const out = join(dir, "flat-recorded.png");
    const env = { FOCUSBOX_STATE_DIR: join(dir, "state-flat") };
    const rec = await focusbox(["flat", "--out", out, "--frames", "4", "--json"], env);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ file: out, frames: 4 });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([512, 384, 1]); // the simulated camera's frames
    const again = await focusbox(["flat", "--out", out], env);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/flat-recorded\.png exists; write the flat field to a new file/)]);
  });

  it("stack simulate --sample-image images a picture of the user's as the slide; bad picture options exit 2 with the reason", async () => {
    // A textured picture: 0.5-µm pixels of seeded value noise, 8 bits.
    const width = 256, height = 192, pixels = Buffer.alloc(width * height);
    let s = 12345;
    for (let i = 0; i < pixels.length; i++) pixels[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const file = join(dir, "picture.png");
    await sharp(pixels, { raw: { width, height, channels: 1 } }).png().toFile(file);
    const out = join(dir, "picture-stack");
    const sim = await focusbox(["stack", "simulate", "--out", out, "--from", "-30", "--to", "30", "--step", "10", "--sample-image", file, "--sample-pixel-um", "0.5"]);
    expect(sim.code, sim.stderr).toBe(0);
    const scored = JSON.parse((await focusbox(["score", "--stack", out, "--metric", "tenengrad", "--json"])).stdout);
    const scores = scored.planes.map((p: { score: number }) => p.score);
    expect(scored.planes[scores.indexOf(Math.max(...scores))].zUm).toBe(0);
    expect(Math.min(scores[0], scores[6])).toBeLessThan(0.5 * scores[3]);

    const noPixel = await focusbox(["stack", "simulate", "--out", join(dir, "x"), "--sample-image", file]);
    expect(noPixel.code).toBe(2);
    expect(noPixel.stderr).toMatch(/--sample-image needs --sample-pixel-um/);
    const missing = await focusbox(["stack", "simulate", "--out", join(dir, "x"), "--sample-image", join(dir, "nope.png"), "--sample-pixel-um", "0.5"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/microscope\.sampleImage\.file ".*nope\.png"/);
  });

  it("refuses unknown metrics and missing stacks with a clear message", async () => {
    const unknown = await focusbox(["score", "--stack", dir, "--metric", "sharpest"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown method "sharpest"; expected one of deepfocus, hpf.*, spectral/);
    const missing = await focusbox(["score", "--stack", join(dir, "nope"), "--metric", "hpf"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/stack directory .*nope does not exist/);
    // Argument errors caught by the parser exit 2 as well, with commander's message.
    const noStack = await focusbox(["score", "--metric", "hpf"]);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/required option '--stack <dir>' not specified/);
    const badNumber = await focusbox(["eval-af", "--stack", dir, "--method", "hpf", "--max-images", "many"]);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/"many" is not a/);
    expect((await focusbox(["score", "--help"])).code).toBe(0);
  });

  it("autofocus runs on the simulated microscope and lands near focus", async () => {
    const { code, stdout, stderr } = await focusbox(["autofocus", "--start", "-30", "--json"], { FOCUSBOX_CLOCK: "virtual" });
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(Math.abs(result.finalUm)).toBeLessThan(1.5);
  });

  it("stack record captures from the configured devices; autofocus and a live calibration replay it with the README's config", async () => {
    const out = join(dir, "recorded");
    const rec = await focusbox(["stack", "record", "--from", "-40", "--to", "40", "--step", "2", "--focus", "10", "--out", out], {
      FOCUSBOX_CLOCK: "virtual",
      FOCUSBOX_MICROSCOPE__FOCUS_UM: "10",
      FOCUSBOX_MICROSCOPE__SAMPLE: "cells",
    });
    expect(rec.code, rec.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, "stack.json"), "utf8"));
    expect(manifest.planes).toHaveLength(41);
    expect(manifest.focusUm).toBe(10);
    // The README's replay example as it stands: the stage's soft limits (±500 µm by default)
    // and the default search and calibration ranges are wider than the ±40-µm stack.
    const config = join(dir, "replay.json");
    await writeFile(config, JSON.stringify({ camera: { kind: "replay", stackDir: out }, stage: { backend: { kind: "replay" }, backlashUm: 0 }, stateDir: join(dir, "replay-state") }));
    const af = await focusbox(["autofocus", "--config", config, "--start", "0", "--json"]);
    expect(af.code, af.stderr).toBe(0);
    expect(Math.abs(JSON.parse(af.stdout).finalUm - 10)).toBeLessThan(1);
    const cal = await focusbox(["calibrate", "--config", config, "--json"]);
    expect(cal.code, cal.stderr).toBe(0);
    const zUm = (JSON.parse(cal.stdout).curve as { zUm: number }[]).map((p) => p.zUm);
    expect(Math.max(...zUm) - Math.min(...zUm)).toBeGreaterThan(60);
  });

  it("token prints the API token, created once with mode 0600 and stable afterwards", async () => {
    const state = join(dir, "state-token");
    const first = await focusbox(["token"], { FOCUSBOX_STATE_DIR: state });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toMatch(/^[\w-]{32,}$/);
    expect((await focusbox(["token"], { FOCUSBOX_STATE_DIR: state })).stdout).toBe(first.stdout);
    const path = (await focusbox(["token", "--path"], { FOCUSBOX_STATE_DIR: state })).stdout.trim();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
