import type { ObjectiveConfig, SimulatedCameraConfig } from "../../config/schema.js";
import { throwIfAborted } from "../../errors.js";
import type { ImageFormation } from "../../optics/image-formation.js";
import { digitize } from "../../optics/noise.js";
import type { Rng } from "../../optics/rng.js";
import type { Slide } from "../../optics/slides.js";
import type { Clock } from "../clock.js";
import type { Camera, CameraInfo, Frame } from "./types.js";

/** What the camera sees at the start of an exposure, supplied by the microscope. */
export interface SimulatedScene {
  slide: Slide;
  /** Physical defocus (µm) at the frame centre when the exposure begins. */
  defocusUm: number;
  tiltUmPerMm: number;
  fieldXUm: number;
  fieldYUm: number;
  /** The illumination during this exposure relative to nominal (1); scales the photon count. */
  brightness: number;
}

export interface SimulatedCameraOptions {
  config: SimulatedCameraConfig;
  objective: ObjectiveConfig;
  clock: Clock;
  formation: ImageFormation;
  /** Seeded stream of shot and read noise. */
  noise: Rng;
  /** Called once per frame at the start of its exposure (`startMs`: clock ms, the frame's timestamp). */
  scene: (startMs: number) => SimulatedScene;
  /** Per-pixel transmission in front of the sensor (dust shadows, `dustTransmission`); none by default. */
  transmission?: Float32Array;
}

/**
 * A simulated camera: frames start on a fixed `fps` grid of the clock (a grab waits for the
 * next slot), the exposure lasts `exposureUs`, and the image is the slide seen through the
 * defocused objective at exposure start, with shot and read noise, gain and clipping.
 */
export class SimulatedCamera implements Camera {
  readonly info: CameraInfo;

  constructor(private readonly options: SimulatedCameraOptions) {
    const { config, objective } = options;
    this.info = { kind: "simulated", width: config.width, height: config.height, bitDepth: config.bitDepth, pixelSizeUm: config.pixelSizeUm / objective.magnification };
  }

  /** Counts prefetches: only the latest one still renders. */
  private prefetches = 0;
  private stopped = false;

  async start(): Promise<void> {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  async grab(signal?: AbortSignal): Promise<Frame> {
    const { config, clock } = this.options;
    throwIfAborted(signal);
    const periodMs = 1000 / config.fps;
    const now = clock.nowMs();
    await clock.sleep(Math.ceil(now / periodMs - 1e-9) * periodMs - now, signal);
    const startMs = clock.nowMs();
    const scene = this.options.scene(startMs);
    await clock.sleep(config.exposureUs / 1000, signal);
    return { ...this.render(scene), timestampMs: startMs };
  }

  /** The frame for a scene, without waiting (used by `grab`). */
  render(scene: SimulatedScene): Omit<Frame, "timestampMs"> {
    const { config, noise, transmission } = this.options;
    const sensor = { ...config, exposureUs: config.exposureUs * scene.brightness };
    const intensity = transmission ? this.intensity(scene).map((v, k) => v * transmission[k]) : this.intensity(scene);
    return { data: digitize(intensity, sensor, noise), width: config.width, height: config.height, bitDepth: config.bitDepth };
  }

  /**
   * Renders a scene's noise-free image soon (on the next turn of the event loop) into the image
   * formation's cache, so that a later `grab` of the same scene costs only its noise. Skipped
   * when a newer prefetch was requested before it ran, or the camera has stopped.
   */
  prefetch(scene: SimulatedScene): void {
    const id = ++this.prefetches;
    setImmediate(() => {
      if (id !== this.prefetches || this.stopped) return;
      try {
        this.intensity(scene);
      } catch {
        // The grab renders the scene again and reports the error there.
      }
    });
  }

  private intensity(scene: SimulatedScene): Float32Array {
    const { config, objective, formation } = this.options;
    return formation.intensity({
      slide: scene.slide,
      objective,
      cameraPixelUm: config.pixelSizeUm,
      width: config.width,
      height: config.height,
      defocusUm: scene.defocusUm,
      fieldXUm: scene.fieldXUm,
      fieldYUm: scene.fieldYUm,
      tiltUmPerMm: scene.tiltUmPerMm,
    });
  }
}
