import type { Station } from "../station/station.js";

/** Prometheus text exposition of the station: AF count, errors, last AF images and duration, z. */
export function prometheusText(station: Station, startedAtMs: number): string {
  const out: string[] = [];
  const metric = (name: string, type: "counter" | "gauge", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : "NaN"}`);
  };
  const ops = station.counters.operations;
  const status = station.status();
  const outcomes = ["done", "cancelled", "failed"] as const;
  metric("focusbox_autofocus_total", "counter", "Autofocus runs finished, by outcome.", outcomes.map((o) => [`{outcome="${o}"}`, ops.autofocus?.[o] ?? 0]));
  metric(
    "focusbox_operations_total",
    "counter",
    "Station operations finished, by operation and outcome.",
    Object.entries(ops).flatMap(([op, counts]) => outcomes.map((o): [string, number] => [`{operation="${op}",outcome="${o}"}`, counts[o]])),
  );
  metric("focusbox_errors_total", "counter", "Operations that failed (any operation).", [["", Object.values(ops).reduce((s, c) => s + c.failed, 0)]]);
  const last = status.lastResult;
  metric("focusbox_last_autofocus_images", "gauge", "Images taken by the last successful autofocus.", [["", last?.images ?? NaN]]);
  metric("focusbox_last_autofocus_duration_seconds", "gauge", "Duration of the last successful autofocus.", [["", last ? last.durationMs / 1000 : NaN]]);
  metric("focusbox_z_um", "gauge", "Focus stage position (µm).", [["", status.positionUm]]);
  metric("focusbox_state", "gauge", "Station state (1 for the current one).", (["idle", "busy", "error"] as const).map((s) => [`{state="${s}"}`, status.state === s ? 1 : 0]));
  metric("focusbox_uptime_seconds", "gauge", "Seconds since the server started.", [["", (performance.now() - startedAtMs) / 1000]]);
  metric("process_resident_memory_bytes", "gauge", "Resident memory of the focusbox process.", [["", process.memoryUsage.rss()]]);
  return out.join("\n") + "\n";
}
