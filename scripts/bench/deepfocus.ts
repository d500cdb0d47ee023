import { createDeepFocusScorer } from "../../src/inference/deepfocus.js";
import type { Roi } from "../../src/focus/types.js";
import { printTable } from "./table.js";

/**
 * Time to score a 3×3 grid of 128×128 tiles (one 384×384 12-bit frame; each tile is scored on
 * the 256×256 window centred on it; the nine windows in one batched run) with the shipped
 * DeepFocus models in onnxruntime-node (CPU), window extraction included: median of `runs`
 * after 20 warm-up runs.
 */
export async function benchDeepFocusLatency(runs = 200, threadCounts = [1, 2]): Promise<void> {
  const size = 384;
  const data = new Uint16Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = 1000 + (((i * 2654435761) >>> 20) % 1500);
  const frame = { data, width: size, height: size, bitDepth: 12, timestampMs: 0 };
  const roi: Roi = { x: 0, y: 0, width: 1, height: 1, cols: 3, rows: 3 };
  const rows: (string | number)[][] = [];
  for (const model of ["fp32", "int8"] as const)
    for (const threads of threadCounts) {
      const scorer = await createDeepFocusScorer({ model, executionProviders: ["cpu"], threads });
      for (let i = 0; i < 20; i++) await scorer.score(frame, roi);
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await scorer.score(frame, roi);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
      rows.push([model, threads, q(0.5), q(0.1), q(0.9), scorer.info.sha256.slice(0, 12)]);
      await scorer.close();
    }
  printTable(`DeepFocus: score a 3×3 grid of 128×128 tiles (256×256 windows, one batched run), ${runs} runs`, ["model", "threads", "median ms", "p10 ms", "p90 ms", "sha256"], rows);
}
