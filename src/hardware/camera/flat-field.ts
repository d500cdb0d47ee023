import type { Config } from "../../config/schema.js";
import { checkFlatFieldSize, flatFielded, readFlatField, type FlatField } from "../../image/flat-field.js";
import type { Camera, CameraInfo, Frame } from "./types.js";

/**
 * A camera whose frames are flat-fielded (`camera.flatField`): every frame a user or the
 * autofocus sees is the backend's divided by the flat field (src/image/flat-field.ts). The flat
 * is read and checked against the camera's frame size in `start()`, before anything moves.
 */
export class FlatFieldCamera implements Camera {
  private flat: FlatField | null = null;

  constructor(
    private readonly camera: Camera,
    private readonly options: NonNullable<Config["camera"]["flatField"]>,
  ) {}

  get info(): CameraInfo {
    return { ...this.camera.info, flatField: this.options.file };
  }

  async start(): Promise<void> {
    const flat = await readFlatField(this.options.file, this.options.darkFile ?? this.options.darkLevelDn);
    checkFlatFieldSize(flat, this.camera.info, `camera.flatField.file ${this.options.file}`, "the camera's frames");
    this.flat = flat;
    await this.camera.start();
  }

  stop(): Promise<void> {
    return this.camera.stop();
  }

  async grab(signal?: AbortSignal): Promise<Frame> {
    if (!this.flat) throw new Error("FlatFieldCamera.grab before start()");
    return flatFielded(await this.camera.grab(signal), this.flat);
  }
}
