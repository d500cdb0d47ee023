import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { focusbox } from "./run.js";

async function configFile(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fb-hw-"));
  const file = join(dir, "config.json");
  await writeFile(file, JSON.stringify({ stateDir: join(dir, "state"), ...(config as object) }));
  return file;
}

/** On this x86 machine none of the device packages or devices exist: start-up must say so in one line. */
describe("hardware backends that cannot start", () => {
  it.each([
    ["pigpio stage", { kind: "pigpio", stepPin: 18, dirPin: 23, stepsPerUm: 1 }, /pigpio.*install/i],
    ["gpiod stage", { kind: "gpiod", driver: "uln2003", coilPins: [5, 6, 13, 19], stepsPerUm: 1, microsteps: 2 }, /node-libgpiod.*install|install.*node-libgpiod/i],
    ["serial bridge on a missing port", { kind: "serial-bridge", path: "/dev/ttyFOCUSBOX9", stepsPerUm: 4 }, /ttyFOCUSBOX9/],
  ])("%s fails with one clear line before anything moves", async (_name, backend, message) => {
    const file = await configFile({ camera: { kind: "v4l2", device: "/dev/video9" }, stage: { backend } });
    const { code, stderr } = await focusbox(["autofocus", "--config", file]);
    expect(code).toBe(4);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});

describe("focusbox doctor", () => {
  it("opens every configured part of the simulated appliance and the model", async () => {
    const { code, stdout } = await focusbox(["doctor", "--config", await configFile({})]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok +stage \(simulated\)/m);
    expect(stdout).toMatch(/^ok +camera \(simulated\): 512×384, 8-bit frames/m);
    expect(stdout).toMatch(/^ok +deepfocus model \(int8\): int8, sha256 [0-9a-f]{12}…, execution provider cpu/m);
    expect(stdout).toMatch(/^ok +refocus \(net, model fp32\): ready/m);
  });

  it("checks the configured models, not the shipped ones, and goes on past devices it cannot create", async () => {
    const file = await configFile({
      camera: { kind: "replay", stackDir: "/nonexistent/stack" },
      stage: { backend: { kind: "replay" } },
      deepfocus: { model: "/nonexistent/deepfocus.onnx" },
      refocus: { model: "/nonexistent/refocus.onnx" },
    });
    const { code, stdout } = await focusbox(["doctor", "--config", file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^MISSING +devices \(camera replay, stage replay\): stack directory \/nonexistent\/stack does not exist/m);
    expect(stdout).toMatch(/^MISSING +deepfocus model \(\/nonexistent\/deepfocus.onnx\): deepfocus.model: cannot read the model \/nonexistent\/deepfocus.onnx \(ENOENT\)/m);
    expect(stdout).toMatch(/^MISSING +refocus \(net, model \/nonexistent\/refocus.onnx\): refocus.model: cannot read/m);
    expect(stdout).toMatch(/^ok +state directory/m);
  });

  it("reads the configured flat field with the camera: a flat of the frames' size is named, one of another size is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-flat-"));
    const good = join(dir, "flat.png");
    const small = join(dir, "small.png");
    await sharp(Buffer.alloc(512 * 384, 200), { raw: { width: 512, height: 384, channels: 1 } }).png().toFile(good);
    await sharp(Buffer.alloc(64 * 48, 200), { raw: { width: 64, height: 48, channels: 1 } }).png().toFile(small);
    const ok = await focusbox(["doctor", "--config", await configFile({ camera: { kind: "simulated", flatField: { file: good } } })]);
    expect(ok.stdout).toMatch(/^ok +camera \(simulated\): 512×384, 8-bit frames, flat-fielded by .*flat\.png/m);
    const bad = await focusbox(["doctor", "--config", await configFile({ camera: { kind: "simulated", flatField: { file: small } } })]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^MISSING +camera \(simulated\): camera\.flatField\.file .*small\.png is 64×48 px, the camera's frames 512×384/m);
  });

  it("names each missing part and exits non-zero", async () => {
    const file = await configFile({ camera: { kind: "rpicam" }, stage: { backend: { kind: "pigpio", stepPin: 18, dirPin: 23, stepsPerUm: 1 } } });
    const { code, stdout } = await focusbox(["doctor", "--config", file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^MISSING +stage \(pigpio\): .*npm install pigpio/m);
    expect(stdout).toMatch(/^MISSING +camera \(rpicam\): rpicam-vid could not be started/m);
  });
});

describe("a configured model file that does not exist", () => {
  it("is an invalid config naming the key, in one line, before anything moves", async () => {
    const file = await configFile({ deepfocus: { model: "/nonexistent/deepfocus.onnx" } });
    const { code, stderr } = await focusbox(["autofocus", "--config", file]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^focusbox: deepfocus\.model: cannot read the model \/nonexistent\/deepfocus\.onnx \(ENOENT\)/)]);
  });
});
