import type { Frame } from "../hardware/camera/types.js";
import { METRICS, type MetricFn } from "./metrics.js";
import { median } from "./stats.js";
import { roiTiles } from "./tiles.js";
import type { ClassicalMetricId, FocusScorer, FrameScore, Roi } from "./types.js";

/**
 * A classical metric as a FocusScorer: the metric on every ROI tile (raw pixel values),
 * aggregated by the median of the tiles (robust to a few featureless or saturated tiles).
 */
export class ClassicalScorer implements FocusScorer {
  readonly higherIsSharper = true;
  private readonly metric: MetricFn;

  /** @throws RangeError for an unknown metric id. */
  constructor(readonly id: ClassicalMetricId) {
    const info = METRICS[id];
    if (!info) throw new RangeError(`unknown classical metric "${id}"`);
    this.metric = info.fn;
  }

  async score(frame: Frame, roi: Roi): Promise<FrameScore> {
    const tiles = roiTiles(frame.width, frame.height, roi).map((r) => this.metric(frame.data, frame.width, r));
    return { score: median(tiles), tiles };
  }
}

export function createClassicalScorer(id: ClassicalMetricId): ClassicalScorer {
  return new ClassicalScorer(id);
}
