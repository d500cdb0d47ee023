import { describe, expect, it } from "vitest";
import { splitThumbs } from "../../src/focus/blur-match.js";
import { peakPowerFraction } from "../../src/focus/periodicity.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { createHeldoutSlide, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import { digitize } from "../../src/optics/noise.js";
import { PSF_MODELS, PsfImaging } from "../../src/optics/psf-models.js";
import { defaultOptics } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";

// Held-out textures and a PSF model the project never trains on, at 10×/NA 0.3 with shot and read noise.
const { objective, camera } = defaultOptics();
const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width: camera.width, height: camera.height, maxDefocusUm: 100 });

function frameAt(texture: HeldoutTexture, zUm: number): Frame {
  const data = digitize(imaging.intensity(imaging.objectSpectrum(createHeldoutSlide(texture, 2)), imaging.otf(PSF_MODELS["born-wolf"], zUm)), camera, new Rng(700 + Math.round(zUm)));
  return { data, width: camera.width, height: camera.height, bitDepth: camera.bitDepth, timestampMs: 0 };
}

/** `peakPowerFraction` of the frame's fine detail, as contrast-inversion.ts reads it (one half of the 256-px binning, σ 2 px). */
function finePeakPower(frame: Frame): number {
  return peakPowerFraction(splitThumbs(frame)![0], 2);
}

describe("periodic pattern in an image's fine detail (peakPowerFraction)", () => {
  it("a mesh holds most of its detail power in a few harmonics, in focus and several DOF out", () => {
    // 0.65–0.98 for the two held-out meshes within ±10 µm of focus, through either PSF model; contrast-inversion.ts reads ≥ 0.5 as periodic.
    for (const zUm of [0, -5, 10]) expect(finePeakPower(frameAt("mesh", zUm)), `mesh at ${zUm} µm`).toBeGreaterThan(0.6);
  });

  it("diatoms, pollen and a USAF chart spread theirs over many frequencies, near focus and away", () => {
    // At most 0.39 over both slide seeds and PSF models, 0–30 µm out.
    for (const texture of ["diatoms", "pollen", "usaf"] as const)
      for (const zUm of [0, -10, 20]) expect(finePeakPower(frameAt(texture, zUm)), `${texture} at ${zUm} µm`).toBeLessThan(0.5);
  });

  it("noise alone spreads its power evenly, and a frame with no detail at all has no fraction", () => {
    const rng = new Rng(3);
    const noise: Frame = { data: Uint16Array.from({ length: 384 * 288 }, () => 1000 + Math.round(30 * rng.normal())), width: 384, height: 288, bitDepth: 12, timestampMs: 0 };
    expect(finePeakPower(noise)).toBeLessThan(0.1);
    const flat: Frame = { data: new Uint16Array(384 * 288).fill(1000), width: 384, height: 288, bitDepth: 12, timestampMs: 0 };
    expect(finePeakPower(flat)).toBeNaN();
  });
});
