/**
 * `npm run bench [-- SECTION…]`: prints the benchmark tables recorded in docs/benchmarks.md.
 * Sections: metrics, classical, deepfocus, station, invariance, autofocus, timelapse, refocus (default: all).
 */
import { benchAutofocus } from "./bench/autofocus.js";
import { benchClassical } from "./bench/classical.js";
import { benchDeepFocusLatency } from "./bench/deepfocus.js";
import { benchInvariance } from "./bench/invariance.js";
import { benchMetrics } from "./bench/metrics.js";
import { benchRefocus } from "./bench/refocus.js";
import { benchStation } from "./bench/station.js";
import { benchTimelapse } from "./bench/timelapse.js";

const sections: Record<string, () => Promise<void> | void> = {
  metrics: () => benchMetrics(),
  classical: () => benchClassical(),
  deepfocus: () => benchDeepFocusLatency(),
  station: () => benchStation(),
  invariance: async () => {
    await benchInvariance();
  },
  autofocus: async () => {
    await benchAutofocus();
  },
  timelapse: async () => {
    await benchTimelapse();
  },
  refocus: async () => {
    await benchRefocus();
  },
};

const wanted = process.argv.slice(2);
for (const name of wanted) if (!(name in sections)) throw new Error(`unknown bench section "${name}"; sections: ${Object.keys(sections).join(", ")}`);
process.stdout.write(`focusbox bench — node ${process.version}, ${new Date().toISOString()}\n`);
for (const [name, run] of Object.entries(sections)) if (wanted.length === 0 || wanted.includes(name)) await run();
