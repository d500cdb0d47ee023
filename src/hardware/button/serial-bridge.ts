import { type SerialBridge, sharedBridge } from "../serial-bridge/bridge.js";
import type { Button, ButtonEvent } from "./types.js";

export interface SerialBridgeButtonOptions {
  /** Same serial device as the stage's bridge. */
  path: string;
  baudRate?: number;
  /** A press held at least this long is "long" (default 1000 ms). */
  longPressMs?: number;
}

/**
 * Push button wired to the bridge MCU (firmware-bridge/): the firmware debounces it and
 * sends one "event button <ms>" line per press, on release.
 */
export class SerialBridgeButton implements Button {
  private readonly listeners = new Set<(event: ButtonEvent) => void>();
  private started = false;

  constructor(
    readonly options: SerialBridgeButtonOptions,
    readonly bridge: SerialBridge = sharedBridge(options.path, options.baudRate),
  ) {}

  private readonly onButton = (durationMs: number): void => {
    const event: ButtonEvent = { kind: durationMs >= (this.options.longPressMs ?? 1000) ? "long" : "short", durationMs };
    for (const listener of this.listeners) listener(event);
  };

  async start(): Promise<void> {
    if (this.started) return;
    await this.bridge.acquire();
    this.started = true;
    this.bridge.on("button", this.onButton);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.bridge.off("button", this.onButton);
    await this.bridge.release();
  }

  onPress(listener: (event: ButtonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
