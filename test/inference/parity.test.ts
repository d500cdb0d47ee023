import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeepFocusScorer, DEEPFOCUS_WINDOW, type DeepFocusScorer } from "../../src/inference/deepfocus.js";

/**
 * onnxruntime-node reproduces PyTorch's outputs on the windows of a parity fixture written by
 * scripts/deepfocus/export.py. Default: the shipped fp32 model's fixture; FOCUSBOX_PARITY_DIR
 * points at another fixture directory (the CI smoke run writes one beside its model).
 */
const dir = process.env.FOCUSBOX_PARITY_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), "fixtures");

interface Fixture {
  model: string;
  modelSha256: string;
  input: string;
  shape: [number, number, number, number];
  outputs: [number, number][];
}

const fixture = JSON.parse(readFileSync(resolve(dir, "parity.json"), "utf8")) as Fixture;

describe(`DeepFocus parity with PyTorch (${dir})`, () => {
  let scorer: DeepFocusScorer;
  beforeAll(async () => {
    scorer = await createDeepFocusScorer({ model: resolve(dir, fixture.model), executionProviders: ["cpu"], threads: 2 });
  });
  afterAll(() => scorer?.close());

  it("loads the model the fixture was made from", () => {
    expect(scorer.info.sha256).toBe(fixture.modelSha256);
    expect(scorer.info.precision).toBe("fp32");
  });

  it("matches PyTorch on every window", async () => {
    const raw = readFileSync(resolve(dir, fixture.input));
    const u16 = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
    const n = fixture.shape[0];
    expect(u16.length).toBe(n * DEEPFOCUS_WINDOW * DEEPFOCUS_WINDOW);
    const { defocus, validity } = await scorer.scoreWindows(Float32Array.from(u16), n);
    fixture.outputs.forEach(([d, v], i) => {
      expect(Math.abs(defocus[i] - d)).toBeLessThan(1e-3 + 1e-3 * Math.abs(d));
      expect(Math.abs(validity[i] - v)).toBeLessThan(1e-3 + 1e-3 * Math.abs(v));
    });
  });
});
