import { configSchema, type ObjectiveConfig, type SampleKind, type SimulatedCameraConfig } from "../config/schema.js";
import type { Frame } from "../hardware/camera/types.js";
import { ImageFormation } from "./image-formation.js";
import { digitize } from "./noise.js";
import { hashInts, Rng } from "./rng.js";
import { createSlide, type Slide } from "./slides.js";

/** Options of `renderDefocused`; everything but `defocusUm` defaults to the configuration defaults. */
export interface RenderOptions {
  /** Physical defocus (µm) at the frame centre. */
  defocusUm: number;
  sample?: SampleKind | Slide;
  /** Slide seed (when `sample` is a kind). Default 1. */
  seed?: number;
  /** Slide coordinate (µm) of the frame centre. Default (0, 0). */
  fieldXUm?: number;
  fieldYUm?: number;
  objective?: Partial<ObjectiveConfig>;
  camera?: Partial<Omit<SimulatedCameraConfig, "kind">>;
  tiltUmPerMm?: number;
  /** Seed of shot and read noise; `null` gives the noise-free mean image. Default: derived from `seed`. */
  noiseSeed?: number | null;
  timestampMs?: number;
  /** Caches to reuse across calls (a shared module-level one by default). */
  formation?: ImageFormation;
}

let defaults: { objective: ObjectiveConfig; camera: SimulatedCameraConfig } | undefined;

/** The configuration defaults for the objective and the simulated camera. */
export function defaultOptics(): { objective: ObjectiveConfig; camera: SimulatedCameraConfig } {
  if (!defaults) {
    const config = configSchema.parse({});
    if (config.camera.kind !== "simulated") throw new Error("default camera is not simulated");
    defaults = { objective: config.objective, camera: config.camera };
  }
  return defaults;
}

const shared = new ImageFormation();

/**
 * One simulated camera frame of a virtual slide at a given defocus, without stage or camera
 * objects (for `stack simulate`, benchmarks and tests): optics + sensor noise + digitisation.
 */
export function renderDefocused(opts: RenderOptions): Frame {
  const base = defaultOptics();
  const objective = { ...base.objective, ...opts.objective };
  const camera = { ...base.camera, ...opts.camera };
  const seed = opts.seed ?? 1;
  const slide = typeof opts.sample === "object" ? opts.sample : createSlide(opts.sample ?? "tissue", seed);
  const intensity = (opts.formation ?? shared).intensity({
    slide,
    objective,
    cameraPixelUm: camera.pixelSizeUm,
    width: camera.width,
    height: camera.height,
    defocusUm: opts.defocusUm,
    fieldXUm: opts.fieldXUm,
    fieldYUm: opts.fieldYUm,
    tiltUmPerMm: opts.tiltUmPerMm,
  });
  const noiseSeed = opts.noiseSeed === undefined ? hashInts(seed, 0x6e6f) : opts.noiseSeed;
  const data = digitize(intensity, camera, noiseSeed === null ? undefined : new Rng(noiseSeed));
  return { data, width: camera.width, height: camera.height, bitDepth: camera.bitDepth, timestampMs: opts.timestampMs ?? 0 };
}
