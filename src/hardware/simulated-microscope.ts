import type { MicroscopeConfig, ObjectiveConfig, SampleKind, SimulatedCameraConfig, SimulatedStageConfig } from "../config/schema.js";
import { dustTransmission } from "../optics/dust.js";
import { ImageFormation } from "../optics/image-formation.js";
import { LruCache } from "../optics/lru.js";
import { hashInts, Rng } from "../optics/rng.js";
import { createSlide, type Slide } from "../optics/slides.js";
import { SimulatedCamera, type SimulatedScene } from "./camera/simulated.js";
import type { Clock } from "./clock.js";
import { SimulatedStage, type PlannedMove } from "./stage/simulated.js";

export { depthOfFieldUm } from "../optics/dof.js";

const RECENT_EXPOSURES = 64;

export interface SimulatedMicroscopeOptions {
  objective: ObjectiveConfig;
  microscope: MicroscopeConfig;
  camera: SimulatedCameraConfig;
  stage: SimulatedStageConfig;
  clock: Clock;
  /** The slide under the objective; default: `microscope.sample` with `microscope.seed`. */
  slide?: Slide;
}

/**
 * The simulated microscope behind the default backend: a virtual slide, an objective, a
 * focus drive with slack and a camera, sharing one clock. The focal plane drifts as
 * focusUm + driftUmPerHour·t, plus per-frame Gaussian jitter (jitterUm RMS) seen by the camera;
 * the lamp's brightness varies from frame to frame by flickerRms (relative, Gaussian); dust on
 * the camera window (`dust`, the fraction of the frame it shadows) darkens the same pixels in every frame.
 * The constructor does no I/O.
 */
export class SimulatedMicroscope {
  readonly camera: SimulatedCamera;
  readonly stage: SimulatedStage;
  private slide: Slide;
  private readonly jitter: Rng;
  private readonly flicker: Rng;
  private readonly t0Ms: number;
  /** Exposure start (clock ms) → physical defocus then (µm), for the last RECENT_EXPOSURES frames. */
  private readonly exposures = new LruCache<number>(RECENT_EXPOSURES, () => 1);

  constructor(private readonly options: SimulatedMicroscopeOptions) {
    const { microscope, clock } = options;
    this.t0Ms = clock.nowMs();
    this.slide = options.slide ?? createSlide(microscope.sample, microscope.seed);
    this.jitter = new Rng(hashInts(microscope.seed, 0x6a17));
    this.flicker = new Rng(hashInts(microscope.seed, 0xf11c));
    this.stage = new SimulatedStage(options.stage, clock, (move) => this.prefetch(move));
    this.camera = new SimulatedCamera({
      config: options.camera,
      objective: options.objective,
      clock,
      formation: new ImageFormation(),
      noise: new Rng(hashInts(microscope.seed, 0x6e6f)),
      transmission: microscope.dust > 0 ? dustTransmission(options.camera.width, options.camera.height, microscope.dust, new Rng(hashInts(microscope.seed, 0xd057))) : undefined,
      scene: (startMs) => {
        const defocusUm = this.defocusUm();
        this.exposures.set(String(startMs), defocusUm);
        const brightness = Math.max(0, 1 + microscope.flickerRms * this.flicker.normal());
        return this.scene(defocusUm - microscope.jitterUm * this.jitter.normal(), brightness);
      },
    });
  }

  private scene(defocusUm: number, brightness = 1): SimulatedScene {
    return { slide: this.slide, defocusUm, tiltUmPerMm: this.options.microscope.tiltUmPerMm, fieldXUm: 0, fieldYUm: 0, brightness };
  }

  /**
   * On a real-time clock, renders the frame a move's target will show while the stage travels,
   * so that the grab after it finds it ready (a real camera spends no CPU on image formation).
   * For a waypoint (the backlash overshoot), the frame at the end of the whole move. Not with
   * per-frame jitter: the next exposure's defocus is then unknown.
   */
  private prefetch(move: PlannedMove): void {
    if (!this.options.clock.realTime || this.options.microscope.jitterUm > 0) return;
    this.camera.prefetch(this.scene(move.physicalUm - this.trueFocusUm(move.settledAtMs)));
  }

  /**
   * Ground truth for a frame scored after the stage moved on: the physical defocus (µm, jitter
   * excluded) when the exposure of the frame with this `timestampMs` began (recent frames only).
   */
  exposureDefocusUm(timestampMs: number): number {
    const d = this.exposures.get(String(timestampMs));
    if (d === undefined) throw new RangeError(`no recent simulated exposure began at ${timestampMs} ms`);
    return d;
  }

  /**
   * Ground truth: the commanded stage position (µm) at which the sample is in focus now
   * (drift included, jitter excluded), in the stage's current coordinate (after any
   * setPositionUm), when approached from below as FocusStage does; `atMs` (clock ms) defaults to now.
   */
  trueFocusUm(atMs = this.options.clock.nowMs()): number {
    const { focusUm, driftUmPerHour } = this.options.microscope;
    const hours = (atMs - this.t0Ms) / 3.6e6;
    return focusUm + driftUmPerHour * hours + this.stage.coordinateOffsetUm;
  }

  /** Where the focus carriage physically is, in the stage's commanded coordinate (differs from positionUm() by the slack). */
  physicalZUm(): number {
    return this.stage.physicalUm();
  }

  /** Physical defocus now (µm, jitter excluded): physicalZUm() − trueFocusUm(). */
  defocusUm(): number {
    return this.physicalZUm() - this.trueFocusUm();
  }

  /** Puts another slide under the objective (seed defaults to the configured one). */
  setSample(kind: SampleKind, seed = this.options.microscope.seed): void {
    this.slide = createSlide(kind, seed);
  }
}
