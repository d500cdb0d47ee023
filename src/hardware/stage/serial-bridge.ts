import { CanceledError, DeviceError, throwIfAborted } from "../../errors.js";
import { type SerialBridge, type SerialBridgeOptions, sharedBridge } from "../serial-bridge/bridge.js";
import { ACCEL_MAX_STEPS_PER_S2, SPEED_MAX_STEPS_PER_S, moveDurationS } from "../serial-bridge/protocol.js";
import type { StageBackend, StageInfo } from "./types.js";

export type { SerialBridgeOptions } from "../serial-bridge/bridge.js";

const STOP_MARGIN_MS = 1000;

/**
 * Focus stage on the bridge firmware (firmware-bridge/): the MCU times the step pulses and
 * counts them; this backend converts µm to steps, waits for the end-of-move event, and
 * survives MCU resets: on a boot banner it re-sends speed and acceleration and puts the
 * last known position back (`setpos`), so coordinates stay continuous. A reset during a
 * move fails that move (the motor stopped somewhere between start and target) and keeps
 * the start position as the best estimate. A move cut short by `halt()` rejects with
 * CanceledError, its position being where the motor stopped.
 */
export class SerialBridgeStage implements StageBackend {
  readonly info: StageInfo;
  private steps = 0;
  private readonly sign: 1 | -1;
  private readonly speed: number;
  private readonly accel: number;
  private resyncing: Promise<void> = Promise.resolve();
  private moveFailed?: (error: Error) => void;
  private started = false;

  constructor(
    readonly options: SerialBridgeOptions,
    readonly bridge: SerialBridge = sharedBridge(options.path, options.baudRate),
  ) {
    if (!(options.stepsPerUm > 0)) throw new DeviceError("serial-bridge: stepsPerUm must be positive", "stage");
    this.info = { kind: "serial-bridge", resolutionUm: 1 / options.stepsPerUm };
    this.sign = options.invert ? -1 : 1;
    this.speed = Math.round(options.maxSpeedUmPerS * options.stepsPerUm);
    this.accel = Math.round(options.accelUmPerS2 * options.stepsPerUm);
    if (!(this.speed >= 1 && this.speed <= SPEED_MAX_STEPS_PER_S))
      throw new DeviceError(`serial-bridge: max speed ${this.speed} steps/s is outside 1..${SPEED_MAX_STEPS_PER_S}`, "stage");
    if (!(this.accel >= 1 && this.accel <= ACCEL_MAX_STEPS_PER_S2))
      throw new DeviceError(`serial-bridge: acceleration ${this.accel} steps/s² is outside 1..${ACCEL_MAX_STEPS_PER_S2}`, "stage");
  }

  private readonly onBoot = (): void => {
    this.moveFailed?.(new DeviceError("the bridge MCU reset during a move; position is uncertain", "stage"));
    this.resyncing = this.configure(this.steps).catch(() => undefined);
  };

  /** Opens the bridge and adopts the MCU's position (it outlives host restarts). */
  async start(): Promise<void> {
    if (this.started) return;
    await this.bridge.acquire();
    this.bridge.on("boot", this.onBoot);
    try {
      this.steps = parseSteps(await this.bridge.command("p"));
      await this.configure();
    } catch (error) {
      this.bridge.off("boot", this.onBoot);
      await this.bridge.release();
      throw error;
    }
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.bridge.off("boot", this.onBoot);
    await this.bridge.release();
  }

  private async configure(positionSteps?: number): Promise<void> {
    await this.bridge.command(`speed ${this.speed}`);
    await this.bridge.command(`accel ${this.accel}`);
    if (positionSteps !== undefined) await this.bridge.command(`setpos ${positionSteps}`);
  }

  positionUm(): number {
    return (this.sign * this.steps) / this.options.stepsPerUm;
  }

  toSteps(zUm: number): number {
    return this.sign * Math.round(zUm * this.options.stepsPerUm);
  }

  async setPositionUm(zUm: number): Promise<void> {
    await this.resyncing;
    const steps = this.toSteps(zUm);
    await this.bridge.command(`setpos ${steps}`);
    this.steps = steps;
  }

  async moveTo(zUm: number, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (!Number.isFinite(zUm)) throw new DeviceError(`invalid stage target ${zUm}`, "stage");
    await this.resyncing;
    const target = this.toSteps(zUm);
    if (target === this.steps) return;
    const timeoutMs = moveDurationS(target - this.steps, this.speed, this.accel) * 1000 + this.options.moveTimeoutMs;
    const ended = this.nextEnd();
    try {
      await this.bridge.command(`ma ${target}`);
    } catch (error) {
      ended.cancel();
      throw error;
    }
    const outcome = await raceAbort(ended.promise, signal, timeoutMs);
    if (outcome === "done") {
      if (this.steps !== target) throw new CanceledError("stage halted before reaching its target");
      return;
    }
    await this.bridge.command("stop").catch(() => undefined);
    await raceAbort(ended.promise, undefined, this.stopTimeMs()).catch(() => undefined);
    ended.cancel();
    if (outcome === "aborted") throw new CanceledError();
    throw new DeviceError(`stage move to ${zUm} µm did not finish within ${Math.round(timeoutMs)} ms`, "stage");
  }

  async halt(): Promise<void> {
    try {
      await this.resyncing;
      if (!this.started || (await this.bridge.command("moving?")) !== "1") return;
      const ended = this.nextEnd();
      await this.bridge.command("stop");
      await raceAbort(ended.promise, undefined, this.stopTimeMs()).catch(() => undefined);
      ended.cancel();
    } catch {
      /* halt never throws */
    }
  }

  private stopTimeMs(): number {
    return (this.speed / this.accel) * 1000 + STOP_MARGIN_MS;
  }

  /** Resolves at the next end-of-move event (updating the position), rejects if the MCU resets first. */
  private nextEnd(): { promise: Promise<void>; cancel(): void } {
    let cancel = () => {};
    const promise = new Promise<void>((resolve, reject) => {
      const onEnd = (steps: number) => {
        this.steps = steps;
        cleanup();
        resolve();
      };
      const cleanup = () => {
        this.bridge.off("end", onEnd);
        this.moveFailed = undefined;
      };
      this.bridge.on("end", onEnd);
      this.moveFailed = (error) => {
        cleanup();
        reject(error);
      };
      cancel = cleanup;
    });
    promise.catch(() => undefined);
    return { promise, cancel: () => cancel() };
  }
}

function parseSteps(text: string): number {
  const steps = Number(text);
  if (!Number.isInteger(steps)) throw new DeviceError(`serial bridge: bad position reply "${text}"`, "stage");
  return steps;
}

/** "done" when `promise` resolves first; "aborted" / "timeout" otherwise; rejects with its error. */
function raceAbort(promise: Promise<void>, signal: AbortSignal | undefined, timeoutMs: number): Promise<"done" | "aborted" | "timeout"> {
  return new Promise((resolve, reject) => {
    const finish = (outcome: "done" | "aborted" | "timeout") => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) return finish("aborted");
    promise.then(
      () => finish("done"),
      (error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
