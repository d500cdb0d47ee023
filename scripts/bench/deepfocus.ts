import { configSchema } from "../../src/config/schema.js";
import type { Roi } from "../../src/focus/types.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { roiTiles } from "../../src/focus/tiles.js";
import { createDeepFocusScorer, DEEPFOCUS_WINDOW } from "../../src/inference/deepfocus.js";
import { tileWindows } from "../../src/inference/windows.js";
import { printTable } from "./table.js";

/** A 12-bit frame of hashed noise (the timing does not depend on content). */
function noiseFrame(width: number, height: number): Frame {
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 1000 + (((i * 2654435761) >>> 20) % 1500);
  return { data, width, height, bitDepth: 12, timestampMs: 0 };
}

/**
 * DeepFocus scoring latency with the shipped models in onnxruntime-node (CPU), window
 * extraction included: median of `runs` after 20 warm-up runs.
 * 1. The case: a 3×3 grid of 128×128 tiles (one 384×384 12-bit frame; each tile is
 *    scored on the 256×256 window centred on it; the nine windows in one batched run).
 * 2. A large frame (2048×1536, the default ROI: 3×3 tiles of 410×307 px over the central 60 %),
 *    INT8, with one window per tile and with the default `deepfocus.maxWindowsPerTile` (a 2×2
 *    cover of each tile: 36 windows in one run).
 */
export async function benchDeepFocusLatency(runs = 200, threadCounts = [1, 2]): Promise<void> {
  const time = async (model: "fp32" | "int8", threads: number, frame: Frame, roi: Roi, maxWindowsPerTile: number, n: number) => {
    const scorer = await createDeepFocusScorer({ model, executionProviders: ["cpu"], threads, maxWindowsPerTile });
    for (let i = 0; i < 20; i++) await scorer.score(frame, roi);
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await scorer.score(frame, roi);
      ms.push(performance.now() - t);
    }
    await scorer.close();
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
    return [q(0.5), q(0.1), q(0.9), scorer.info.sha256.slice(0, 12)];
  };
  const small = noiseFrame(384, 384);
  const grid: Roi = { x: 0, y: 0, width: 1, height: 1, cols: 3, rows: 3 };
  const rows: (string | number)[][] = [];
  for (const model of ["fp32", "int8"] as const)
    for (const threads of threadCounts) rows.push([model, threads, ...(await time(model, threads, small, grid, 1, runs))]);
  printTable(`DeepFocus: score a 3×3 grid of 128×128 tiles (256×256 windows, one batched run), ${runs} runs`, ["model", "threads", "median ms", "p10 ms", "p90 ms", "sha256"], rows);

  const large = noiseFrame(2048, 1536);
  const config = configSchema.parse({});
  const bigRuns = Math.max(10, Math.round(runs / 4));
  const bigRows: (string | number)[][] = [];
  const roi = config.autofocus.roi;
  for (const perTile of [1, config.deepfocus.maxWindowsPerTile]) {
    const windows = roiTiles(large.width, large.height, roi).reduce((n, t) => n + tileWindows(large, t, DEEPFOCUS_WINDOW, perTile).length, 0);
    for (const threads of threadCounts) bigRows.push(["int8", perTile, windows, threads, ...(await time("int8", threads, large, roi, perTile, bigRuns))]);
  }
  printTable(
    `DeepFocus: score a 2048×1536 frame on the default ROI (3×3 tiles of 410×307 px), ${bigRuns} runs`,
    ["model", "max windows per tile", "windows", "threads", "median ms", "p10 ms", "p90 ms", "sha256"],
    bigRows,
  );
}
