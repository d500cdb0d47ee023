import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import type { Config } from "../config/schema.js";
import type { Frame } from "../hardware/camera/types.js";
import { median } from "../focus/stats.js";
import { binFrame, binnedSize, checkBinningFactor } from "../image/bin.js";
import { clipRect, roiTiles } from "../focus/tiles.js";
import type { FocusScorer, FrameScore, Rect, Roi } from "../focus/types.js";
import { openSession, readModel, type ExecutionProvider, type InferenceLog } from "./session.js";
import { DEEPFOCUS_WINDOW, DEFAULT_MAX_WINDOWS_PER_TILE, tileWindows, writeWindows } from "./windows.js";

export { DEEPFOCUS_WINDOW } from "./windows.js";
const INPUT = "windows";
const OUTPUT = "scores";

/** The shipped models (models/deepfocus/, see its README.md model card). */
export const SHIPPED_DEEPFOCUS_MODELS = {
  int8: fileURLToPath(new URL("../../models/deepfocus/deepfocus-int8.onnx", import.meta.url)),
  fp32: fileURLToPath(new URL("../../models/deepfocus/deepfocus-fp32.onnx", import.meta.url)),
} as const;

export interface DeepFocusOptions {
  /** A shipped model by precision, or the path of an ONNX file with the same I/O. */
  model: "int8" | "fp32" | string;
  /** Default tensorrt → cuda → cpu (see openSession). */
  executionProviders?: readonly ExecutionProvider[];
  /** Intra-op threads (onnxruntime's default when omitted). */
  threads?: number;
  /** Windows in the warm-up run at start (default 9, a 3×3 ROI). */
  warmupWindows?: number;
  /** Most windows one ROI tile is scored on (tileWindows; default DEFAULT_MAX_WINDOWS_PER_TILE). */
  maxWindowsPerTile?: number;
  log?: InferenceLog;
}

export interface DeepFocusInfo {
  modelPath: string;
  sha256: string;
  provider: ExecutionProvider;
  /** "int8" when the graph holds QuantizeLinear/DequantizeLinear nodes. */
  precision: "int8" | "fp32";
}

/** Raw model output for a batch of windows. */
export interface WindowScores {
  /**
   * Blur radius of the window in camera pixels, √(r_defocus² + r_Airy²): ≈ the Airy radius in
   * focus, growing ≈ linearly with |z| (by tan(asin(NA/n)) / pixel size) away from it.
   */
  defocus: Float32Array;
  /** Validity logit: > 0 when the window has texture to judge focus on. */
  validity: Float32Array;
}

/**
 * The DeepFocus CNN as a FocusScorer. Each ROI tile is scored on 256×256 windows of raw pixel
 * values: one centred on it when the tile is no larger than the window (every tile of frames
 * up to 1280 px on a side with the default ROI), else up to `maxWindowsPerTile` spread over it
 * (tileWindows); all windows of a frame go through the model in one run. Tile score = blur
 * radius in camera pixels (lower is sharper), the median of its valid windows (of all of them
 * when none is valid); `valid` = some window's validity logit > 0; frame score = median of the
 * valid tiles, NaN when none is valid.
 *
 * With `binning` k > 1 the frame is binned k×k first (binFrame) and the model's radius is
 * multiplied by k, so scores stay in camera pixels: for optics that sample far finer than
 * Nyquist, whose far-defocus discs outgrow the window at full resolution. `withBinning`
 * views share the session: close only the scorer createDeepFocusScorer returned.
 */
export class DeepFocusScorer implements FocusScorer {
  readonly id = "deepfocus" as const;
  readonly higherIsSharper = false;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly info: DeepFocusInfo,
    readonly binning = 1,
    readonly maxWindowsPerTile = DEFAULT_MAX_WINDOWS_PER_TILE,
  ) {}

  withBinning(factor: number): DeepFocusScorer {
    checkBinningFactor(factor);
    return new DeepFocusScorer(this.session, this.info, factor, this.maxWindowsPerTile);
  }

  /** Scores a batch of windows laid out as float32 [n, 1, 256, 256]. */
  async scoreWindows(windows: Float32Array, n: number): Promise<WindowScores> {
    const input = new ort.Tensor("float32", windows, [n, 1, DEEPFOCUS_WINDOW, DEEPFOCUS_WINDOW]);
    const result = await this.session.run({ [INPUT]: input });
    const out = result[OUTPUT].data as Float32Array;
    const defocus = new Float32Array(n);
    const validity = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      defocus[i] = out[2 * i];
      validity[i] = out[2 * i + 1];
    }
    return { defocus, validity };
  }

  async score(full: Frame, roi: Roi): Promise<FrameScore> {
    const frame = binFrame(full, this.binning);
    const perTile = this.windowsPerTile(frame, roi);
    const regions = perTile.flat();
    const windows = new Float32Array(regions.length * DEEPFOCUS_WINDOW * DEEPFOCUS_WINDOW);
    writeWindows(frame, regions, DEEPFOCUS_WINDOW, windows);
    const { defocus, validity } = await this.scoreWindows(windows, regions.length);
    const tiles: number[] = [];
    const valid: boolean[] = [];
    let w = 0;
    for (const group of perTile) {
      const b = Array.from(defocus.subarray(w, w + group.length), (x) => x * this.binning);
      const ok = b.filter((_, i) => validity[w + i] > 0);
      tiles.push(median(ok.length ? ok : b));
      valid.push(ok.length > 0);
      w += group.length;
    }
    const kept = tiles.filter((_, i) => valid[i]);
    return { score: kept.length ? median(kept) : Number.NaN, tiles, valid };
  }

  /** Each tile's windows in full-resolution frame pixels, clipped to the frame (the pixels its score comes from; mirrored overhangs left out). */
  tileRegions(full: Pick<Frame, "width" | "height">, roi: Roi): Rect[][] {
    const k = this.binning;
    return this.windowsPerTile(binnedSize(full, k), roi).map((windows) => windows.map((w) => clipRect({ x: w.x * k, y: w.y * k, width: w.width * k, height: w.height * k }, full.width, full.height)));
  }

  /** Each ROI tile's windows (tileWindows) in the coordinates of the (binned) frame scored. */
  private windowsPerTile(frame: Pick<Frame, "width" | "height">, roi: Roi): Rect[][] {
    return roiTiles(frame.width, frame.height, roi).map((t) => tileWindows(frame, t, DEEPFOCUS_WINDOW, this.maxWindowsPerTile));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads a DeepFocus model, picks the execution provider (with fallback), and warms it up.
 * @throws Error when the file cannot be read or no execution provider can run it.
 */
export async function createDeepFocusScorer(opts: DeepFocusOptions): Promise<DeepFocusScorer> {
  const { modelPath, bytes, sha256, precision } = await readModel(opts.model, SHIPPED_DEEPFOCUS_MODELS, "deepfocus.model");
  const { session, provider } = await openSession(bytes, opts);
  const scorer = new DeepFocusScorer(session, { modelPath, sha256, provider, precision }, 1, opts.maxWindowsPerTile);
  const warm = opts.warmupWindows ?? 9;
  if (warm > 0) await scorer.scoreWindows(new Float32Array(warm * DEEPFOCUS_WINDOW * DEEPFOCUS_WINDOW), warm);
  opts.log?.info({ modelPath, sha256, provider, precision }, "deepfocus: model ready");
  return scorer;
}

/** The scorer of a config's `deepfocus` block (model, execution providers, threads — 0 = onnxruntime's default —, windows per tile). */
export function configuredDeepFocusScorer(d: Config["deepfocus"], opts: Pick<DeepFocusOptions, "warmupWindows" | "log"> = {}): Promise<DeepFocusScorer> {
  return createDeepFocusScorer({ model: d.model, executionProviders: d.executionProviders, threads: d.threads || undefined, maxWindowsPerTile: d.maxWindowsPerTile, ...opts });
}
