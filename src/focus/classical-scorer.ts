import type { Frame } from "../hardware/camera/types.js";
import { METRICS, type MetricFn } from "./metrics.js";
import { meanOf } from "./stats.js";
import { roiTiles } from "./tiles.js";
import type { ClassicalMetricId, FocusScorer, FrameScore, Rect, Roi } from "./types.js";

/**
 * A classical metric as a FocusScorer: the metric on every ROI tile (or on the regions given
 * for it, see the constructor), aggregated by the mean of the tiles — the metric of the whole ROI, as in the literature. (A median would let
 * featureless tiles, e.g. a gap in a tissue section, drown the peak.)
 *
 * Every tile's metric is divided by the frame's mean pixel value to the power of the metric's
 * `scaleExponent`, so a frame that is uniformly brighter or dimmer (lamp flicker, bleaching
 * during a z-series, a camera's auto-exposure) scores the same; without it a 5 % flicker moves
 * Tenengrad by 10 %, as much as defocus does over a fraction of a depth of field. The whole
 * frame's mean, not each tile's: a dark tile's noise is not blown up, and light crossing the
 * field's edge with defocus moves it least. Floored at 1 count.
 */
export class ClassicalScorer implements FocusScorer {
  readonly higherIsSharper = true;
  private readonly metric: MetricFn;
  private readonly scaleExponent: number;

  /**
   * `regions`: where each ROI tile is read instead of the tile itself (another scorer's
   * `tileRegions`); a tile read from several regions scores their area-weighted mean.
   * @throws RangeError for an unknown metric id.
   */
  constructor(
    readonly id: ClassicalMetricId,
    private readonly regions?: NonNullable<FocusScorer["tileRegions"]>,
  ) {
    const info = METRICS[id];
    if (!info) throw new RangeError(`unknown classical metric "${id}"`);
    this.metric = info.fn;
    this.scaleExponent = info.scaleExponent;
  }

  async score(frame: Frame, roi: Roi): Promise<FrameScore> {
    const perTile = this.regions ? this.regions(frame, roi) : roiTiles(frame.width, frame.height, roi).map((r) => [r]);
    const brightness = Math.max(1, meanOf(frame.data)) ** this.scaleExponent;
    const tiles = perTile.map((rects) => this.areaMean(frame, rects) / brightness);
    return { score: tiles.reduce((a, b) => a + b, 0) / tiles.length, tiles };
  }

  /** The metric over `rects`, weighted by their areas (0 when they have none). */
  private areaMean(frame: Frame, rects: readonly Rect[]): number {
    let sum = 0;
    let area = 0;
    for (const r of rects) {
      const a = r.width * r.height;
      if (a === 0) continue;
      sum += a * this.metric(frame.data, frame.width, r);
      area += a;
    }
    return area > 0 ? sum / area : 0;
  }
}

/** A classical metric as a FocusScorer, on the ROI tiles or on `regions` (see ClassicalScorer). */
export function createClassicalScorer(id: ClassicalMetricId, regions?: NonNullable<FocusScorer["tileRegions"]>): ClassicalScorer {
  return new ClassicalScorer(id, regions);
}
