import type { ObjectiveConfig } from "../config/schema.js";

/**
 * Depth of field (µm) of an objective imaged onto a camera: the wave-optical term λ·n/NA²
 * plus the geometrical term n·e/(M·NA) for camera pixel pitch e (µm, sensor plane).
 */
export function depthOfFieldUm(objective: ObjectiveConfig, cameraPixelUm: number): number {
  const { wavelengthUm, immersionIndex: n, na, magnification } = objective;
  return (wavelengthUm * n) / (na * na) + (n * cameraPixelUm) / (magnification * na);
}

/**
 * Camera pixel pitch (sensor plane, µm) for depth-of-field estimates: the simulated camera's
 * configured pitch, else the camera's sample-plane pixel size × magnification, else 0 (the
 * wave-optical DOF term alone).
 */
export function cameraPixelUm(
  camera: { kind: string; pixelSizeUm?: number },
  samplePixelUm: number | undefined,
  objective: Pick<ObjectiveConfig, "magnification">,
): number {
  if (camera.kind === "simulated" && camera.pixelSizeUm !== undefined) return camera.pixelSizeUm;
  return (samplePixelUm ?? 0) * objective.magnification;
}

/**
 * The coarsest binning (1, 2 or 4) whose binned pixel still samples the objective at Nyquist,
 * λ / (4·NA) in the sample plane (λ defaults to 0.55 µm): what DeepFocus needs to score finely
 * sampled optics (high magnification, small camera pixels) without losing in-focus detail.
 */
export function nyquistBinning(samplePixelUm: number, na: number, wavelengthUm = 0.55): number {
  const nyquistUm = wavelengthUm / (4 * na);
  return [4, 2].find((k) => k * samplePixelUm <= nyquistUm) ?? 1;
}
