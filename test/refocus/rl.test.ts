import { describe, expect, it } from "vitest";
import { renderDefocused } from "../../src/optics/render.js";
import { parseConfig } from "../../src/config/load.js";
import { fixedBlur } from "../../src/refocus/blur-estimate.js";
import { createRefocuser } from "../../src/refocus/index.js";
import { airyRadiusPx, defocusRadiusPx } from "../../src/refocus/psf.js";
import { psnr, ssim } from "../../src/refocus/quality.js";
import { RlRefocuser } from "../../src/refocus/rl.js";

/** Default optics: 10×/NA 0.3, λ 0.55 µm, n 1, 3.45-µm camera pixel → p = 0.345 µm. */
const PIXEL_UM = 0.345;
const AIRY_PX = airyRadiusPx(0.55, 0.3, PIXEL_UM);
const DEFOCUS_PX_PER_UM = Math.tan(Math.asin(0.3)) / PIXEL_UM;

describe("Richardson–Lucy baseline", () => {
  it("recovers a known defocus blur (simulator's pupil PSF, 10 µm ≈ 1.3 DOF) better than the input", async () => {
    const camera = { width: 320, height: 256, bitDepth: 12 as const };
    const zUm = 10;
    const input = renderDefocused({ defocusUm: zUm, sample: "cells", seed: 3, camera });
    const truth = renderDefocused({ defocusUm: 0, sample: "cells", seed: 3, camera, noiseSeed: null });
    const blurPx = Math.hypot(zUm * DEFOCUS_PX_PER_UM, AIRY_PX);
    expect(defocusRadiusPx(blurPx, AIRY_PX)).toBeCloseTo(9.12, 1);
    const rl = new RlRefocuser({ blur: fixedBlur(blurPx), airyPx: AIRY_PX, iterations: 10 });
    const { frame: out, info } = await rl.refocus(input);
    expect([out.width, out.height, out.bitDepth]).toEqual([320, 256, 12]);
    expect(out.data).toBeInstanceOf(Uint16Array);
    expect(info.blurPx!.every((r) => Math.abs(r - 9.12) < 0.2)).toBe(true);
    const before = { psnr: psnr(input.data, truth.data), ssim: ssim(input.data, truth.data, 320, 256) };
    const after = { psnr: psnr(out.data, truth.data), ssim: ssim(out.data, truth.data, 320, 256) };
    expect(after.psnr, JSON.stringify({ before, after })).toBeGreaterThan(before.psnr + 1);
    expect(after.ssim, JSON.stringify({ before, after })).toBeGreaterThan(before.ssim);
  });

  it("leaves tiles alone that the estimator calls invalid or in focus", async () => {
    const input = renderDefocused({ defocusUm: 5, camera: { width: 200, height: 150 } });
    const invalid = { window: 256, sha256: null, scoreWindows: async (_: Float32Array, n: number) => ({ defocus: new Float32Array(n).fill(20), validity: new Float32Array(n).fill(-3) }) };
    for (const blur of [invalid, fixedBlur(AIRY_PX)]) {
      const { frame: out } = await new RlRefocuser({ blur, airyPx: AIRY_PX }).refocus(input);
      expect(out.data).toEqual(input.data);
    }
  });

  it("uses the station's loaded DeepFocus model when given one, loading no second model", async () => {
    const config = parseConfig({ deepfocus: { model: "/nonexistent/deepfocus.onnx" } });
    await expect(createRefocuser("rl", config)).rejects.toThrow(/nonexistent/);
    const calls: number[] = [];
    const station = { ...fixedBlur(9), scoreWindows: (w: Float32Array, n: number) => (calls.push(n), fixedBlur(9).scoreWindows(w, n)) };
    const rl = await createRefocuser("rl", config, { blur: station, airyPx: AIRY_PX });
    const input = renderDefocused({ defocusUm: 8, camera: { width: 200, height: 150 } });
    const { frame: out, info } = await rl.refocus(input);
    expect(calls.length).toBeGreaterThan(0);
    expect(info.blurPx!.every((r) => Math.abs(r - defocusRadiusPx(9, AIRY_PX)) <= 0.125)).toBe(true);
    expect(out.data).not.toEqual(input.data);
    await rl.close();
    expect((await station.scoreWindows(new Float32Array(256 * 256), 1)).defocus[0]).toBe(9);
  });
});
