import { EventEmitter } from "node:events";
import type { AutofocusResult, TracePoint } from "../autofocus/types.js";
import type { CaptureInfo } from "./captures.js";
import type { CalibrationOutcome } from "./operations.js";

export type StationState = "idle" | "busy" | "error";

/** One finished operation, as kept in the station's recent-operations log. */
export interface OperationRecord {
  /** Increasing sequence number (per process). */
  seq: number;
  operation: string;
  startedAt: string;
  durationMs: number;
  outcome: "done" | "cancelled" | "failed";
  /** One line: what came out, or why it failed. */
  detail: string;
}

/** Everything the station announces; the web page receives these as Server-Sent Events. */
export interface StationEvents {
  state: { state: StationState; operation: string | null; positionUm: number };
  /** An autofocus image (trace point) was scored. */
  image: { operation: string; point: TracePoint };
  /** Progress of operations that count planes (calibrate, record stack). */
  progress: { operation: string; done: number; total: number; zUm: number };
  result: { operation: string; result: AutofocusResult };
  calibrated: { operation: string; calibration: CalibrationOutcome };
  captured: { operation: string; capture: CaptureInfo };
  failed: { operation: string; error: string; kind: string };
  /** An operation finished (any outcome). */
  operation: OperationRecord;
}

export const STATION_EVENT_NAMES = ["state", "image", "progress", "result", "calibrated", "captured", "failed", "operation"] as const satisfies readonly (keyof StationEvents)[];

/** A typed EventEmitter for StationEvents. */
export class StationEventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(1000);
  }

  emit<K extends keyof StationEvents>(name: K, payload: StationEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof StationEvents>(name: K, listener: (payload: StationEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
