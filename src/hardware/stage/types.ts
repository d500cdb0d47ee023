/**
 * Focus-stage contract. Positions are µm along the focus axis, in the backend's own
 * (commanded) coordinate. Backlash compensation and soft limits are NOT a backend's job:
 * `FocusStage` (focus-stage.ts) layers them on any backend.
 *
 * Rules:
 * - `moveTo()` resolves once the motion has ended and the stage has settled; a camera frame
 *   grabbed afterwards is sharp at the new position. With `{ waypointToUm }` the target is a
 *   waypoint nothing is imaged at (the backlash overshoot on the way to `waypointToUm`): the
 *   backend may resolve as soon as the motion ends, skipping its settle time.
 * - `moveTo()` rejects with CanceledError when `signal` aborts; the motor is then stopped
 *   (decelerated) and `positionUm()` reports where it actually stopped.
 * - `halt()` stops any motion as soon as possible; it never throws.
 * - `setPositionUm()` redefines the current position ("set zero") without moving.
 */
export interface StageBackend {
  readonly info: StageInfo;
  start(): Promise<void>;
  stop(): Promise<void>;
  moveTo(zUm: number, signal?: AbortSignal, options?: MoveOptions): Promise<void>;
  positionUm(): number;
  setPositionUm(zUm: number): Promise<void>;
  halt(): Promise<void>;
}

export interface MoveOptions {
  /** Set when the target is a waypoint of a move that goes on to this position (µm): no settle time needed. */
  waypointToUm?: number;
}

export interface StageInfo {
  /** Backend id, e.g. "simulated", "replay", "pigpio", "serial-bridge". */
  kind: string;
  /** Smallest commandable increment (1 / steps per µm). */
  resolutionUm: number;
}

/** Where FocusStage keeps the stage: soft limits and backlash handling, in µm. */
export interface StageLimits {
  minUm: number;
  maxUm: number;
}
