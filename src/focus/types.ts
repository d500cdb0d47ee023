import type { Frame } from "../hardware/camera/types.js";

/** Ids of the classical metrics on the command line and in config. */
export const CLASSICAL_METRIC_IDS = ["hpf", "tenengrad", "lapv", "sml", "ewc", "ws", "vollath", "normvar"] as const;
export type ClassicalMetricId = (typeof CLASSICAL_METRIC_IDS)[number];
export type MetricId = ClassicalMetricId | "deepfocus" | "spectral";

/** A rectangle in pixels of a frame. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Region of interest as fractions of the frame (0..1) split into a grid of tiles.
 * Default: the central 60 % of the frame in a 3×3 grid.
 */
export interface Roi {
  x: number;
  y: number;
  width: number;
  height: number;
  cols: number;
  rows: number;
}

/** Scores of one frame: per tile, and the ROI aggregate the autofocus uses. */
export interface FrameScore {
  /** ROI aggregate (what `focusbox score` prints as `score`). */
  score: number;
  /** One score per tile, row-major over the ROI grid. */
  tiles: number[];
  /** Per tile: false when the tile is featureless (a CNN validity score below threshold). */
  valid?: boolean[];
}

/**
 * The common interface of all focus scores: the eight classical metrics and the DeepFocus CNN.
 * Classical metrics are higher-is-sharper; the CNN returns a defocus estimate (lower is sharper).
 */
export interface FocusScorer {
  readonly id: MetricId;
  readonly higherIsSharper: boolean;
  score(frame: Frame, roi: Roi): Promise<FrameScore>;
  /**
   * The same scorer on frames binned `factor`×`factor` first (same ROI fractions), for optics
   * that sample far finer than the scorer needs; absent when the scorer does not support it.
   */
  withBinning?(factor: number): FocusScorer;
  /**
   * The frame regions (full-resolution pixels, inside the frame) each ROI tile is read from, row-major
   * like the tiles, where they are not the tile itself: DeepFocus reads 256-px windows around each
   * tile. Absent for scorers that read the tiles.
   */
  tileRegions?(frame: Pick<Frame, "width" | "height">, roi: Roi): Rect[][];
}
