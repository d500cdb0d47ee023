import { beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { ConfigError } from "../../src/errors.js";
import { SpectralDefocusModel, SpectralDefocusScorer } from "../../src/focus/spectral-defocus.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { depthOfFieldUm } from "../../src/optics/dof.js";
import { createHeldoutSlide, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import { digitize } from "../../src/optics/noise.js";
import { PSF_MODELS, PsfImaging, type PsfModelId } from "../../src/optics/psf-models.js";
import { defaultOptics } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";

// Held-out textures through PSF models other than the scalar pupil the estimator assumes:
// Born–Wolf (the paraxial form of the same physics) and a Gaussian (no zero rings at all).
const { objective, camera } = defaultOptics();
const roi = configSchema.parse({}).autofocus.roi;
const samplePixelUm = camera.pixelSizeUm / objective.magnification;
const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width: camera.width, height: camera.height, maxDefocusUm: 60 });

function frameOf(texture: HeldoutTexture, psf: PsfModelId, zUm: number): Frame {
  const data = digitize(imaging.intensity(imaging.objectSpectrum(createHeldoutSlide(texture, 1)), imaging.otf(PSF_MODELS[psf], zUm)), camera, new Rng(1000 + zUm));
  return { data, width: camera.width, height: camera.height, bitDepth: camera.bitDepth, timestampMs: 0 };
}

let scorer: SpectralDefocusScorer;
beforeAll(() => {
  scorer = new SpectralDefocusScorer(new SpectralDefocusModel({ objective, samplePixelUm, maxDefocusUm: 70 }));
});

describe("spectral defocus estimate", () => {
  it("reads an in-focus frame within one DOF of focus, and |z| within about half a DOF (4 µm) from 10 to 35 µm, on unseen textures through the Born–Wolf PSF", async () => {
    const dofUm = depthOfFieldUm(objective, camera.pixelSizeUm);
    for (const texture of ["diatoms", "usaf"] as const)
      for (const zUm of [0, 10, 20, 35]) {
        const s = await scorer.score(frameOf(texture, "born-wolf", zUm * (zUm % 20 === 0 ? 1 : -1)), roi);
        expect(Math.abs(s.score - zUm), `${texture} at ${zUm} µm read ${s.score}`).toBeLessThan(zUm === 0 ? dofUm : 4);
        expect(s.tiles).toHaveLength(9);
        expect(s.valid?.every(Boolean)).toBe(true);
      }
  });

  it("rises with |z| through a Gaussian PSF (no zero rings), reading within 20 % of |z| from 20 µm on", async () => {
    const zs = [0, 10, 20, 35, 50];
    const scores = [];
    for (const zUm of zs) scores.push((await scorer.score(frameOf("pollen", "gaussian", zUm), roi)).score);
    for (let i = 1; i < scores.length; i++) expect(scores[i], scores.join(", ")).toBeGreaterThan(scores[i - 1] + 2);
    for (let i = 2; i < zs.length; i++) expect(Math.abs(scores[i] / zs[i] - 1), scores.join(", ")).toBeLessThan(0.2);
  });

  it("calls an empty field (noise only) invalid, with no score", async () => {
    const rng = new Rng(7);
    const data = new Uint16Array(camera.width * camera.height).map(() => Math.round(120 + 2 * rng.normal()));
    const s = await scorer.score({ data, width: camera.width, height: camera.height, bitDepth: 8, timestampMs: 0 }, roi);
    expect(s.score).toBeNaN();
    expect(s.valid?.some(Boolean)).toBe(false);
  });

  it("refuses optics that leave no frequencies above the cutoff to read the noise from", () => {
    // 4×/NA 0.3 on 3.45-µm pixels: 0.86-µm sample pixels, cutoff 0.94 cycles/px (undersampled).
    const coarse = () => new SpectralDefocusModel({ objective: { ...objective, magnification: 4 }, samplePixelUm: 3.45 / 4, maxDefocusUm: 5 });
    expect(coarse).toThrow(ConfigError);
    expect(coarse).toThrow(/sampled too coarsely \(pixels must be below 0\.54[0-9]* µm\)/);
  });
});
