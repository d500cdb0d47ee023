import { buildCalibration, type CalibrationProfile, type PlaneScores } from "../../src/autofocus/calibration.js";
import type { FieldMatch } from "../../src/focus/calibration-match.js";
import { roiTiles } from "../../src/focus/tiles.js";
import type { FocusScorer, FrameScore, Roi } from "../../src/focus/types.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { Rng } from "../../src/optics/rng.js";

/** DOF (µm) of the default 10×/NA 0.3 objective on 3.45 µm pixels. */
export const DOF_UM = 0.55 / 0.09 + 3.45 / 3;
/** Saturation of the synthetic curve (DOF units) and its rounded bottom (µm). */
const B_MAX = 18;
const BOTTOM_UM = 3;

/**
 * A sample-invariant stand-in for the DeepFocus CNN's output at a defocus: growing ≈ linearly
 * with |z| from a rounded bottom and saturating far out — the shape of the shipped model's
 * blur-radius curve. Units are arbitrary (here |z|/DOF): the autofocus only matches shapes.
 */
export function syntheticB(defocusUm: number): number {
  return B_MAX * Math.tanh(Math.hypot(defocusUm, BOTTOM_UM) / (B_MAX * DOF_UM));
}

export interface SyntheticScorerOptions {
  /** Defocus (µm) at the frame centre for this frame (e.g. the simulated microscope's exposureDefocusUm). */
  defocusUm: (frame: Frame) => number;
  /** Sample tilt: focus rises by this much per mm towards +x (as the simulated optics). */
  tiltUmPerMm?: number;
  /** Sample-plane pixel size (µm), for the tilt. */
  pixelUm?: number;
  /** Per-tile Gaussian noise SD (DOF units). */
  noise?: number;
  /** This sample's curve is `gain` × the calibration sample's (default 1). */
  gain?: number;
  /**
   * Beyond ±falseMinimumUm/2 from focus the curve is the calibration's centred on
   * ±falseMinimumUm: a second, equally deep minimum there — a periodic sample whose contrast
   * reverses and looks sharp to the CNN.
   */
  falseMinimumUm?: number;
  /**
   * The curve is flat (the in-focus value) within ±flatWithinUm of focus and rises beyond as
   * the calibration's from there: a periodic sample whose defocus leaves a focus-like sinusoid
   * (the shipped model on a mesh).
   */
  flatWithinUm?: number;
  /**
   * Beyond ±saturatesAtUm from focus the curve stays at its value there: a sparse sample whose
   * DeepFocus score stops rising a few DOF out (the shipped model on sparse cells far out).
   */
  saturatesAtUm?: number;
  /** False → every tile invalid (an empty slide). */
  textured?: () => boolean;
  seed?: number;
}

/** A FocusScorer that answers like the DeepFocus scorer (id, lower is sharper, valid[]) from known truth. */
export class SyntheticDeepFocusScorer implements FocusScorer {
  readonly id = "deepfocus" as const;
  readonly higherIsSharper = false;
  calls = 0;
  private readonly rng: Rng;

  constructor(private readonly o: SyntheticScorerOptions) {
    this.rng = new Rng(o.seed ?? 1);
  }

  async score(frame: Frame, roi: Roi): Promise<FrameScore> {
    this.calls++;
    const centre = this.o.defocusUm(frame);
    const textured = this.o.textured?.() ?? true;
    const tiles = roiTiles(frame.width, frame.height, roi).map((r) => {
      const xMm = ((r.x + r.width / 2 - frame.width / 2) * (this.o.pixelUm ?? 0.345)) / 1000;
      const d = centre - (this.o.tiltUmPerMm ?? 0) * xMm;
      const m = this.o.falseMinimumUm;
      const dShape = this.o.flatWithinUm !== undefined ? Math.max(0, Math.abs(d) - this.o.flatWithinUm) : m === undefined || Math.abs(d) < m / 2 ? d : Math.abs(d) - m;
      const dCurve = this.o.saturatesAtUm === undefined ? dShape : Math.min(Math.abs(dShape), this.o.saturatesAtUm);
      const b = (this.o.gain ?? 1) * syntheticB(dCurve) + (this.o.noise ?? 0) * this.rng.normal();
      return textured ? b : 0.5 + 0.01 * this.rng.normal();
    });
    const valid = tiles.map(() => textured);
    const kept = tiles.filter((_, i) => valid[i]).sort((a, b) => a - b);
    return { score: kept.length ? kept[kept.length >> 1] : Number.NaN, tiles, valid };
  }
}

/** A profile built from the synthetic curve on a grid (what calibrating a flat, in-focus-at-0 stack gives). */
export function syntheticProfile(o: { halfRangeUm?: number; stepUm?: number; tiles?: number; modelHash?: string | null; roi?: Roi } = {}): CalibrationProfile {
  const half = o.halfRangeUm ?? 160;
  const step = o.stepUm ?? 2;
  const planes: PlaneScores[] = [];
  for (let z = -half; z <= half + 1e-9; z += step) planes.push({ zUm: z, tiles: Array.from({ length: o.tiles ?? 9 }, () => syntheticB(z)) });
  const roi = o.roi ?? { x: 0.2, y: 0.2, width: 0.6, height: 0.6, cols: 3, rows: 3 };
  const scorer = new SyntheticDeepFocusScorer({ defocusUm: () => 0 });
  return buildCalibration(planes, { name: "synthetic", objective: { magnification: 10, na: 0.3 }, scorer, roi, modelHash: o.modelHash === undefined ? "synthetic-model" : o.modelHash });
}

/** A Δz match with all nine tiles at `shiftUm` and no problem: a refinement's first estimate, written out in a test. */
export function matchAt(shiftUm: number): FieldMatch {
  return { shiftUm, tileShiftsUm: new Array(9).fill(shiftUm), validTiles: 9, inlierTiles: 9, rmsResidual: 0.1, uncertaintyUm: 0.2, problem: null };
}
