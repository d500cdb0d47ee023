import { CanceledError } from "../errors.js";

/**
 * Time source shared by the simulated devices and the station. `RealClock` follows the wall
 * clock (for `npm start`); `VirtualClock` advances instantly on `sleep`, so an autofocus in a
 * test or benchmark costs only compute time while its reported durations stay physical.
 */
export interface Clock {
  /** True when `sleep` takes wall time, so work started before a sleep overlaps it (a move, an exposure). */
  readonly realTime: boolean;
  /** Milliseconds since an arbitrary epoch (monotonic). */
  nowMs(): number;
  /** Resolves after `ms` of clock time; rejects with CanceledError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export class RealClock implements Clock {
  readonly realTime = true;

  nowMs(): number {
    return performance.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new CanceledError());
      const onAbort = () => {
        clearTimeout(timer);
        reject(new CanceledError());
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

export class VirtualClock implements Clock {
  readonly realTime: boolean = false;
  private timeMs: number;

  constructor(startMs = 0) {
    this.timeMs = startMs;
  }

  nowMs(): number {
    return this.timeMs;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new CanceledError();
    this.timeMs += Math.max(0, ms);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw new CanceledError();
  }
}
