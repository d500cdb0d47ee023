/**
 * Push-button contract. Backends debounce (in hardware, on the MCU or in software) and report
 * one event per physical press; the station maps short/long presses to operations.
 */
export interface ButtonEvent {
  kind: "short" | "long";
  /** How long the button was held. */
  durationMs: number;
}

export interface Button {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Registers a listener; returns a function that removes it. */
  onPress(listener: (event: ButtonEvent) => void): () => void;
}
