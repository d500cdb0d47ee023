/**
 * Constants shared with the bridge firmware: they mirror firmware-bridge/src/limits.h, and
 * firmware-bridge/PROTOCOL.md documents every line. Change them together.
 */
export const FIRMWARE_NAME = "focusbox-bridge";
export const PROTOCOL_VERSION = 1;
/** Firmware limits (steps/s, steps/s², steps). */
export const SPEED_MAX_STEPS_PER_S = 12000;
export const ACCEL_MAX_STEPS_PER_S2 = 2_000_000;
export const POSITION_LIMIT_STEPS = 1_000_000_000;

/** One line from the bridge, classified. */
export type BridgeLine =
  | { kind: "ok"; text: string }
  | { kind: "error"; text: string }
  | { kind: "boot"; text: string }
  | { kind: "end"; steps: number; stopped: boolean }
  | { kind: "button"; durationMs: number }
  | { kind: "other"; text: string };

export function parseLine(raw: string): BridgeLine {
  const line = raw.trim();
  const [head, ...rest] = line.split(/\s+/);
  const text = rest.join(" ");
  if (head === "ok") return { kind: "ok", text };
  if (head === "error") return { kind: "error", text };
  if (head === "event") {
    const [name, arg] = rest;
    if (name === "boot") return { kind: "boot", text: rest.slice(1).join(" ") };
    if ((name === "done" || name === "stopped") && /^-?\d+$/.test(arg ?? "")) return { kind: "end", steps: Number(arg), stopped: name === "stopped" };
    if (name === "button" && /^\d+$/.test(arg ?? "")) return { kind: "button", durationMs: Number(arg) };
  }
  return { kind: "other", text: line };
}

/**
 * Duration of a trapezoidal move of `steps` from rest to rest, as the firmware times it (s):
 * ramps at `accel` up to `speed`, triangular when too short to reach it.
 */
export function moveDurationS(steps: number, speed: number, accel: number): number {
  const n = Math.abs(steps);
  if (n * accel >= speed * speed) return n / speed + speed / accel;
  return 2 * Math.sqrt(n / accel);
}
