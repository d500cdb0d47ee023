import { EventEmitter } from "node:events";
import type { AutofocusResult, TracePoint } from "../autofocus/types.js";

/** Everything the station announces; the web page receives these as Server-Sent Events. */
export interface StationEvents {
  state: { state: StationState; operation: string | null };
  image: { operation: string; point: TracePoint };
  result: { operation: string; result: AutofocusResult };
  failed: { operation: string; error: string; kind: string };
}

export type StationState = "idle" | "busy" | "error";

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
