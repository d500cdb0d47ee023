import type { SimulatedCameraConfig } from "../config/schema.js";
import type { Rng } from "./rng.js";

/** The sensor settings that turn an optical image into digital numbers. */
export type SensorSettings = Pick<SimulatedCameraConfig, "bitDepth" | "exposureUs" | "gain" | "fullWellElectrons" | "readNoiseElectrons">;

/** Exposure (µs) at which a fully bright pixel collects `fullWellElectrons` (the config's reference exposure). */
export const REFERENCE_EXPOSURE_US = 10_000;

/**
 * Digitises an optical image (`intensity` in [0, 1], 1 = fully bright) like a CMOS sensor:
 * mean electrons = intensity × fullWellElectrons × exposureUs / 10 000, Poisson shot noise,
 * Gaussian read noise (electrons), saturation at the full well, then
 * ADU = electrons × gain × (2^bitDepth − 1) / fullWellElectrons (gain 1 fills the ADC at full
 * well), rounded and clipped to [0, 2^bitDepth − 1]. 8-bit → Uint8Array, 12/16-bit → Uint16Array.
 * Without `rng` the frame is noise-free (mean electrons, no read noise). Above 30 mean
 * electrons shot and read noise are drawn together as one normal deviate of variance
 * mean + read² (the Poisson law is normal there to better than 1e-3 in variance).
 */
export function digitize(intensity: Float32Array, sensor: SensorSettings, rng?: Rng): Uint8Array | Uint16Array {
  const maxAdu = 2 ** sensor.bitDepth - 1;
  const out = sensor.bitDepth === 8 ? new Uint8Array(intensity.length) : new Uint16Array(intensity.length);
  const scale = sensor.fullWellElectrons * (sensor.exposureUs / REFERENCE_EXPOSURE_US);
  const aduPerElectron = (sensor.gain * maxAdu) / sensor.fullWellElectrons;
  const read = sensor.readNoiseElectrons;
  const read2 = read * read;
  const fullWell = sensor.fullWellElectrons;
  for (let i = 0; i < intensity.length; i++) {
    const mean = intensity[i] > 0 ? intensity[i] * scale : 0;
    let e = mean;
    if (rng) e = mean >= 30 ? mean + Math.sqrt(mean + read2) * rng.normal() : rng.poisson(mean) + read * rng.normal();
    if (e > fullWell) e = fullWell;
    const adu = Math.round(e * aduPerElectron);
    out[i] = adu < 0 ? 0 : adu > maxAdu ? maxAdu : adu;
  }
  return out;
}
