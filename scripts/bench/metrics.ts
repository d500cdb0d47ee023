import { METRICS } from "../../src/focus/metrics.js";
import { CLASSICAL_METRIC_IDS } from "../../src/focus/types.js";
import { renderDefocused } from "../../src/optics/render.js";
import { printTable } from "./table.js";

/** Time per megapixel of every classical metric on a 1024×1024 simulated frame (8- and 16-bit), median of repeats. */
export function benchMetrics(repeats = 15): void {
  const frames = [8, 16].map((bitDepth) => renderDefocused({ defocusUm: 5, sample: "tissue", camera: { width: 1024, height: 1024, bitDepth: bitDepth as 8 | 16 } }));
  const rows = CLASSICAL_METRIC_IDS.map((id) => {
    const cells: (string | number)[] = [id];
    for (const frame of frames) {
      const rect = { x: 0, y: 0, width: frame.width, height: frame.height };
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        METRICS[id].fn(frame.data, frame.width, rect);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      cells.push(times[Math.floor(times.length / 2)] / ((frame.width * frame.height) / 1e6));
    }
    return cells;
  });
  printTable("Classical metrics: time per megapixel (ms/MP, median)", ["metric", "8-bit", "16-bit"], rows);
}
