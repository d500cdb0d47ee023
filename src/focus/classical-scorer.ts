import type { Frame } from "../hardware/camera/types.js";
import { METRICS, type MetricFn } from "./metrics.js";
import { roiTiles } from "./tiles.js";
import type { ClassicalMetricId, FocusScorer, FrameScore, Roi } from "./types.js";

/**
 * A classical metric as a FocusScorer: the metric on every ROI tile (raw pixel values),
 * aggregated by the mean of the tiles — the metric of the whole ROI, as in the literature.
 * (A median would let featureless tiles, e.g. a gap in a tissue section, drown the peak.)
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
    return { score: tiles.reduce((a, b) => a + b, 0) / tiles.length, tiles };
  }
}

export function createClassicalScorer(id: ClassicalMetricId): ClassicalScorer {
  return new ClassicalScorer(id);
}
