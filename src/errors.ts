/**
 * The few flagged error classes of focusbox. HTTP mapping lives only in the web app's
 * `onError`; the CLI maps them to exit codes. Every other error is a bug.
 */

/** An operation was cancelled through its AbortSignal (button long-press, API cancel, shutdown). */
export class CanceledError extends Error {
  override readonly name = "CanceledError";
  constructor(message = "operation cancelled") {
    super(message);
  }
}

/** Autofocus could not find a focus: featureless sample, or target outside the capture range. */
export class FocusNotFoundError extends Error {
  override readonly name = "FocusNotFoundError";
  constructor(message: string, readonly reason: "no-texture" | "out-of-range" | "not-converged" = "not-converged") {
    super(message);
  }
}

/** A device failed or refused: camera process died, stage at a soft limit, missing native package. */
export class DeviceError extends Error {
  override readonly name = "DeviceError";
  constructor(message: string, readonly device: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Invalid configuration or invalid user input; `path` is the dotted path of the offending field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(message: string, readonly issues: { path: string; message: string }[] = []) {
    super(message);
  }
}

/** The station is already running an operation. */
export class BusyError extends Error {
  override readonly name = "BusyError";
  constructor(readonly running: string) {
    super(`busy: ${running} is running`);
  }
}

/** Throws CanceledError when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CanceledError(typeof signal.reason === "string" ? signal.reason : undefined);
}
