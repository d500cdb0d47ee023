import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { SpectralDefocusModel } from "../../src/focus/spectral-defocus.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { depthOfFieldUm } from "../../src/optics/dof.js";
import { defaultOptics, renderDefocused } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";
import { createRefocuser } from "../../src/refocus/index.js";
import { psnr, ssim } from "../../src/refocus/quality.js";
import { filterDefocusUm, WIENER_APODISATIONS, WienerRefocuser } from "../../src/refocus/wiener.js";
import { heldoutPair } from "./heldout-pair.js";

const { objective, camera } = defaultOptics();
const model = new SpectralDefocusModel({ objective, samplePixelUm: camera.pixelSizeUm / objective.magnification, maxDefocusUm: 40, apodisations: WIENER_APODISATIONS });

function noisyFlat(width: number, height: number, bitDepth: number, level: number, seed = 3): Frame {
  const rng = new Rng(seed);
  const data = bitDepth === 8 ? new Uint8Array(width * height) : new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.round(level + 2 * rng.normal()));
  return { data, width, height, bitDepth, timestampMs: 9 };
}

describe("blind Wiener refocus (wiener) and auto", () => {
  it("deconvolves an unseen texture 2 DOF out through the Born–Wolf PSF: +2 dB PSNR at least, higher SSIM, |z| read per tile", async () => {
    const { width, height } = camera;
    const zUm = 2 * depthOfFieldUm(objective, camera.pixelSizeUm);
    const { frame: input, truth } = heldoutPair("diatoms", zUm);
    const { frame: out, info } = await new WienerRefocuser({ model }).refocus(input);
    expect(info.method).toBe("wiener");
    for (const d of info.defocusUm!) expect(Math.abs(d - zUm), `tiles read ${info.defocusUm}`).toBeLessThan(2);
    const before = { psnr: psnr(input.data, truth), ssim: ssim(input.data, truth, width, height) };
    const after = { psnr: psnr(out.data, truth), ssim: ssim(out.data, truth, width, height) };
    expect(after.psnr, JSON.stringify({ before, after })).toBeGreaterThan(before.psnr + 2);
    expect(after.ssim, JSON.stringify({ before, after })).toBeGreaterThan(before.ssim);
  });

  it("does not deconvolve a smooth object's own blur near focus: in-focus nuclei and tissue lose ≤ 2 dB, nuclei 0.5 DOF out gain ≥ 3 dB", async () => {
    // The blind |z| reads these in-focus frames 0.26 / 0.45 DOF out (the objects' own smoothness);
    // deconvolving that in full took nuclei from 46.1 to 37.8 dB in focus and lost 1.0 dB at 0.5 DOF.
    const dof = depthOfFieldUm(objective, camera.pixelSizeUm);
    const wiener = new WienerRefocuser({ model });
    for (const [sample, k, minGainDb] of [["nuclei", 0, -2], ["tissue", 0, -2], ["nuclei", 0.5, 3]] as const) {
      const input = renderDefocused({ defocusUm: k * dof, sample });
      const truth = renderDefocused({ defocusUm: 0, sample, noiseSeed: null });
      const { frame: out, info } = await wiener.refocus(input);
      const gainDb = psnr(out.data, truth.data) - psnr(input.data, truth.data);
      expect(gainDb, JSON.stringify({ sample, k, tilesDof: info.defocusUm!.map((d) => d / dof) })).toBeGreaterThan(minGainDb);
    }
    // The offset matters near focus only: from 1 DOF on the filter's |z| is within 15 % of the estimate.
    expect(filterDefocusUm(model.options, 0.3 * dof)).toBe(0);
    for (const k of [1, 2, 4]) expect(filterDefocusUm(model.options, k * dof) / (k * dof)).toBeGreaterThan(k === 1 ? 0.85 : 0.97);
  });

  it("keeps size, bit depth, pixel type and timestamp, and leaves a field with no signal exactly as it was (no seams)", async () => {
    const wiener = new WienerRefocuser({ model, tileSize: 256, overlap: 64 });
    for (const frame of [noisyFlat(700, 300, 8, 90), noisyFlat(333, 211, 12, 2000), noisyFlat(40, 20, 16, 30000)]) {
      const { frame: out, info } = await wiener.refocus(frame);
      expect([out.width, out.height, out.bitDepth, out.timestampMs]).toEqual([frame.width, frame.height, frame.bitDepth, 9]);
      expect(out.data.constructor).toBe(frame.data.constructor);
      expect(info.defocusUm!.every(Number.isNaN)).toBe(true);
      expect(Array.from(out.data)).toEqual(Array.from(frame.data));
    }
  });

  it("refuses to start without a known pixel size, and starts with a subprocess camera's configured one", async () => {
    const stage = { backend: { kind: "pigpio", stepPin: 18, dirPin: 23, stepsPerUm: 1 } };
    const config = parseConfig({ camera: { kind: "v4l2", device: "/dev/video0" }, stage, refocus: { method: "wiener" } });
    for (const method of ["wiener", "auto"]) {
      await expect(createRefocuser(method, config)).rejects.toThrow(ConfigError);
      await expect(createRefocuser(method, config)).rejects.toThrow(/pixel size/);
    }
    // A subprocess camera's configured sample-plane pixel is enough (no running camera needed, as for `focusbox refocus`).
    const withPixel = parseConfig({ camera: { kind: "v4l2", device: "/dev/video0", pixelSizeUm: 0.345 }, stage, refocus: { method: "wiener" } });
    expect((await createRefocuser("wiener", withPixel)).method).toBe("wiener");
  });

  it("auto hands an in-focus frame to the network and a frame 2 DOF out to Wiener, each with the result that method gives alone (shipped network, default config)", async () => {
    const config = parseConfig({ refocus: { method: "auto", threads: 2 } });
    const auto = await createRefocuser("auto", config);
    const alone = { net: await createRefocuser("net", config), wiener: await createRefocuser("wiener", config) };
    try {
      const dof = depthOfFieldUm(objective, camera.pixelSizeUm);
      for (const [zUm, via] of [[0, "net"], [2 * dof, "wiener"]] as const) {
        const { frame: input } = heldoutPair("pollen", zUm);
        const { frame: out, info } = await auto.refocus(input);
        expect([info.method, info.via]).toEqual(["auto", via]);
        expect([out.width, out.height, out.bitDepth]).toEqual([input.width, input.height, input.bitDepth]);
        // One Wiener pass feeds both the decision and the network's channel: the same pixels as the method alone.
        const single = await alone[via].refocus(input);
        expect(Buffer.from(out.data.buffer).equals(Buffer.from(single.frame.data.buffer))).toBe(true);
        expect(info.defocusUm).toEqual(single.info.defocusUm);
      }
    } finally {
      await Promise.all([auto.close(), alone.net.close(), alone.wiener.close()]);
    }
  });
});
