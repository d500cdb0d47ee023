import type { WindowScores } from "../inference/deepfocus.js";
import { DEEPFOCUS_WINDOW } from "../inference/windows.js";

/**
 * Where the Richardson–Lucy baseline gets each tile's blur: a model that scores 256 × 256 raw
 * windows (float32 [n, 1, 256, 256], raw pixel values) with a blur radius b in pixels,
 * b = √(r_def² + r_Airy²), and a validity logit (> 0: the window has texture). The DeepFocus
 * scorer (src/inference/deepfocus.ts, `scoreWindows`) is one; `fixedBlur` is another (tests,
 * and the benchmark's known-blur oracle).
 */
export interface BlurEstimator {
  /** Window side (px); DeepFocus uses 256. */
  readonly window: number;
  /** SHA-256 of the model, null when there is none. */
  readonly sha256: string | null;
  scoreWindows(windows: Float32Array, n: number): Promise<WindowScores>;
}

/** A DeepFocus scorer (anything with its `scoreWindows` and `info.sha256`) as a BlurEstimator. */
export function deepfocusBlurEstimator(scorer: { scoreWindows(windows: Float32Array, n: number): Promise<WindowScores>; info: { sha256: string } }): BlurEstimator {
  return { window: DEEPFOCUS_WINDOW, sha256: scorer.info.sha256, scoreWindows: (w, n) => scorer.scoreWindows(w, n) };
}

/** Every window has blur radius `blurPx` (px) and is valid. */
export function fixedBlur(blurPx: number, window = DEEPFOCUS_WINDOW): BlurEstimator {
  return {
    window,
    sha256: null,
    scoreWindows: async (_w, n) => ({ defocus: new Float32Array(n).fill(blurPx), validity: new Float32Array(n).fill(1) }),
  };
}
