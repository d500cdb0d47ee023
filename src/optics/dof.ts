import type { ObjectiveConfig } from "../config/schema.js";

/**
 * Depth of field (µm) of an objective imaged onto a camera: the wave-optical term λ·n/NA²
 * plus the geometrical term n·e/(M·NA) for camera pixel pitch e (µm, sensor plane).
 */
export function depthOfFieldUm(objective: ObjectiveConfig, cameraPixelUm: number): number {
  const { wavelengthUm, immersionIndex: n, na, magnification } = objective;
  return (wavelengthUm * n) / (na * na) + (n * cameraPixelUm) / (magnification * na);
}
