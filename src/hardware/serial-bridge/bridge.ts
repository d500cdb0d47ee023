import { EventEmitter } from "node:events";
import { DeviceError } from "../../errors.js";
import { FIRMWARE_NAME, PROTOCOL_VERSION, parseLine } from "./protocol.js";

/**
 * Host options of the serial bridge (an Arduino Nano-class board running firmware-bridge/):
 * the config schema's `stage.backend` when `kind` is "serial-bridge".
 */
export interface SerialBridgeOptions {
  /** Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…; a pty in tests. */
  path: string;
  /** Default 115200 (the firmware's fixed rate). */
  baudRate?: number;
  /** Motor (micro)steps per µm of focus travel. */
  stepsPerUm: number;
  maxSpeedUmPerS: number;
  accelUmPerS2: number;
  /** Allowed time beyond a move's computed profile duration before it counts as failed. */
  moveTimeoutMs: number;
  /** Swap the direction: +z becomes negative motor steps. */
  invert?: boolean;
}

interface Port {
  write(data: string): void;
  close(): Promise<void>;
}

interface Pending {
  resolve(text: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface BridgeEvents {
  /** The MCU (re)booted: its banner, e.g. "focusbox-bridge 1.0.0 proto 1 reset=external". */
  boot: [banner: string];
  /** A move ended at `steps` (`stopped` when a stop cut it short). */
  end: [steps: number, stopped: boolean];
  button: [durationMs: number];
}

const REPLY_TIMEOUT_MS = 1000;
const SYNC_TIMEOUT_MS = 5000; /* a Nano's bootloader delays the firmware ~1.5 s after the port opens */
const SYNC_PROBE_MS = 250;

/**
 * One serial connection to the bridge, shared by the stage and the button backends
 * (`sharedBridge`). Commands go one at a time; each waits for its `ok`/`error` reply.
 * Constructors do no I/O: the port opens on the first `acquire()` and closes on the last `release()`.
 */
export class SerialBridge extends EventEmitter<BridgeEvents> {
  private port?: Port;
  private users = 0;
  private opening?: Promise<void>;
  private pending?: Pending;
  private queue: Promise<unknown> = Promise.resolve();
  /** MCU boots seen since the port opened (banners). */
  boots = 0;
  /** The firmware's version reply, e.g. "focusbox-bridge 1.0.0 proto 1". */
  firmware = "";

  constructor(readonly path: string, readonly baudRate = 115200) {
    super();
  }

  async acquire(): Promise<void> {
    this.users++;
    try {
      this.opening ??= this.open();
      await this.opening;
    } catch (error) {
      this.users--;
      this.opening = undefined;
      throw error;
    }
  }

  async release(): Promise<void> {
    if (this.users === 0 || --this.users > 0) return;
    const port = this.port;
    this.port = this.opening = undefined;
    this.failPending(new DeviceError("serial bridge closed", "serial-bridge"));
    await port?.close();
    bridges.delete(this.path);
  }

  /** Sends one command line; resolves with the text after "ok", rejects with DeviceError on "error" or timeout. */
  command(line: string, timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    const run = this.queue.then(() => this.exchange(line, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private exchange(line: string, timeoutMs: number): Promise<string> {
    const port = this.port;
    if (!port) return Promise.reject(new DeviceError(`serial bridge ${this.path} is not open`, "serial-bridge"));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new DeviceError(`serial bridge ${this.path}: no reply to "${line}" within ${timeoutMs} ms`, "serial-bridge"));
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      port.write(`${line}\n`);
    });
  }

  private failPending(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  private onLine(raw: string): void {
    const line = parseLine(raw);
    const pending = this.pending;
    switch (line.kind) {
      case "ok":
      case "error":
        if (!pending) return; /* a late reply to a command that already timed out */
        this.pending = undefined;
        clearTimeout(pending.timer);
        if (line.kind === "ok") pending.resolve(line.text);
        else pending.reject(new DeviceError(`serial bridge refused a command: ${line.text}`, "serial-bridge"));
        return;
      case "boot":
        this.boots++;
        this.failPending(new DeviceError(`serial bridge reset (${line.text})`, "serial-bridge"));
        this.emit("boot", line.text);
        return;
      case "end":
        this.emit("end", line.steps, line.stopped);
        return;
      case "button":
        this.emit("button", line.durationMs);
        return;
    }
  }

  private async open(): Promise<void> {
    let serialport: typeof import("serialport");
    try {
      serialport = await import("serialport");
    } catch (cause) {
      throw new DeviceError("the optional package serialport is not installed (npm install serialport)", "serial-bridge", { cause });
    }
    const port = new serialport.SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new DeviceError(`cannot open ${this.path}: ${err.message}`, "serial-bridge", { cause: err })) : resolve())),
    );
    port.pipe(new serialport.ReadlineParser({ delimiter: "\n" })).on("data", (line: string) => this.onLine(line));
    port.on("close", () => this.failPending(new DeviceError(`serial bridge ${this.path} closed`, "serial-bridge")));
    port.on("error", (cause) => this.failPending(new DeviceError(`serial bridge ${this.path}: ${cause.message}`, "serial-bridge", { cause })));
    this.port = {
      write: (data) => port.write(data),
      close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
    };
    try {
      await this.sync();
    } catch (error) {
      await this.port.close();
      this.port = undefined;
      throw error;
    }
  }

  /** Waits for the firmware to answer "version" (it may still be in its bootloader) and checks it. */
  private async sync(): Promise<void> {
    this.port?.write("\n"); /* ends any partial line left in the MCU's buffer */
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      try {
        this.firmware = await this.command("version", SYNC_PROBE_MS);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new DeviceError(`no ${FIRMWARE_NAME} firmware answers on ${this.path}`, "serial-bridge", { cause: error });
      }
    }
    const [name, , proto, version] = this.firmware.split(/\s+/);
    if (name !== FIRMWARE_NAME || proto !== "proto" || Number(version) !== PROTOCOL_VERSION)
      throw new DeviceError(`unexpected firmware on ${this.path}: "${this.firmware}" (want ${FIRMWARE_NAME} proto ${PROTOCOL_VERSION})`, "serial-bridge");
  }
}

const bridges = new Map<string, SerialBridge>();

/** The one SerialBridge for `path`, so the stage and button backends share the port. */
export function sharedBridge(path: string, baudRate = 115200): SerialBridge {
  let bridge = bridges.get(path);
  if (!bridge) bridges.set(path, (bridge = new SerialBridge(path, baudRate)));
  return bridge;
}
