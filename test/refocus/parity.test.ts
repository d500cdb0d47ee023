import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetRefocuser, NET_CHANNELS, type NetRefocuser } from "../../src/refocus/net.js";

/**
 * onnxruntime-node reproduces PyTorch's outputs on the crops of a parity fixture written by
 * scripts/refocus/export.py. Default: the shipped fp32 model's fixture (test/refocus/fixtures);
 * FOCUSBOX_REFOCUS_PARITY_DIR points at another fixture directory (the CI smoke run writes one).
 */
const dir = process.env.FOCUSBOX_REFOCUS_PARITY_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), "fixtures");

interface Fixture {
  model: string;
  modelSha256: string;
  input: string;
  output: string;
  shape: [number, number, number, number];
}

const fixture = JSON.parse(readFileSync(resolve(dir, "parity.json"), "utf8")) as Fixture;
const f32 = (file: string) => {
  const raw = readFileSync(resolve(dir, file));
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};

describe(`refocus network parity with PyTorch (${dir})`, () => {
  let net: NetRefocuser;
  beforeAll(async () => {
    net = await createNetRefocuser({ model: resolve(dir, fixture.model), executionProviders: ["cpu"], threads: 2 });
  });
  afterAll(() => net?.close());

  it("loads the model the fixture was made from", () => {
    expect(net.info.sha256).toBe(fixture.modelSha256);
    expect(net.info.precision).toBe("fp32");
  });

  it("matches PyTorch on every crop", async () => {
    const [n, , h, w] = fixture.shape;
    const input = f32(fixture.input);
    const expected = f32(fixture.output);
    expect(input.length).toBe(n * NET_CHANNELS * h * w);
    const out = await net.run(input, n, h, w);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - expected[i]) / (1 + Math.abs(expected[i])));
    expect(worst).toBeLessThan(1e-3);
  });
});
