import type { Frame } from "../../src/hardware/camera/types.js";
import { createHeldoutSlide } from "../../src/optics/heldout-slides.js";
import { digitize, REFERENCE_EXPOSURE_US } from "../../src/optics/noise.js";
import { PSF_MODELS, PsfImaging } from "../../src/optics/psf-models.js";
import { defaultOptics } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";

/**
 * A held-out texture (seed 2, never seen in training) through the Born–Wolf PSF at `zUm`, with
 * the default optics (10×/NA 0.3, 512×384 8-bit, shot + read noise), and its noise-free
 * in-focus truth (DN): the refocus tests' defocused/in-focus pair.
 */
export function heldoutPair(texture: "diatoms" | "pollen", zUm: number): { frame: Frame; truth: Float64Array } {
  const { objective, camera } = defaultOptics();
  const { width, height } = camera;
  const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width, height, maxDefocusUm: Math.max(zUm, 1) });
  const spectrum = imaging.objectSpectrum(createHeldoutSlide(texture, 2));
  const maxAdu = 2 ** camera.bitDepth - 1;
  const scale = (camera.exposureUs / REFERENCE_EXPOSURE_US) * camera.gain * maxAdu;
  const truth = Float64Array.from(imaging.intensity(spectrum, imaging.otf(PSF_MODELS["born-wolf"], 0)), (v) => Math.min(maxAdu, v * scale));
  const data = digitize(imaging.intensity(spectrum, imaging.otf(PSF_MODELS["born-wolf"], zUm)), camera, new Rng(11));
  return { frame: { data, width, height, bitDepth: camera.bitDepth, timestampMs: 0 }, truth };
}
