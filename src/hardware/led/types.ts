/** Status LED contract: the station sets a pattern, the backend renders it (blinking included). */
export type LedPattern = "off" | "idle" | "busy" | "error";

export interface Led {
  start(): Promise<void>;
  stop(): Promise<void>;
  set(pattern: LedPattern): void;
}
