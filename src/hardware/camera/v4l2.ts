import { DeviceError } from "../../errors.js";
import { ProcessCamera, runCommand, type ProcessCameraCommon } from "./process-camera.js";

/**
 * USB (UVC) and other V4L2 cameras, read by `ffmpeg -f v4l2 -i /dev/videoN -f rawvideo
 * -pix_fmt gray|gray16le -`. Manual exposure, gain and white balance and sharpening off are set
 * with `v4l2-ctl` before the stream starts (ffmpeg's v4l2 input cannot set controls); UVC
 * drivers renamed some controls, so each setting tries the current name, then the legacy one.
 */
export interface V4l2Options extends ProcessCameraCommon {
  device?: string;
  width: number;
  height: number;
  pixelFormat?: "gray" | "gray16le";
  /** Significant bits for gray16le. */
  bitDepth?: number;
  /** Camera-side format for ffmpeg's `-input_format` (e.g. "yuyv422", "mjpeg"); default the driver's choice. */
  inputFormat?: string;
  /** Manual exposure; omitted leaves the camera's exposure control untouched. */
  exposureUs?: number;
  gain?: number;
  /** Fixed white-balance colour temperature (K); auto white balance is turned off whenever controls are set. */
  whiteBalanceK?: number;
  command?: string;
  /** v4l2-ctl binary, or null to leave the controls alone. */
  ctlCommand?: string | null;
}

interface Control {
  /** Current UVC name first, then legacy names. */
  names: string[];
  value: number;
  optional?: boolean;
}

export function v4l2Controls(o: V4l2Options): Control[] {
  const controls: Control[] = [];
  if (o.exposureUs !== undefined) {
    controls.push(
      { names: ["auto_exposure", "exposure_auto"], value: 1 },
      { names: ["exposure_dynamic_framerate", "exposure_auto_priority"], value: 0, optional: true },
      { names: ["exposure_time_absolute", "exposure_absolute"], value: Math.max(1, Math.round(o.exposureUs / 100)) },
    );
  }
  if (o.gain !== undefined) controls.push({ names: ["gain"], value: o.gain });
  controls.push({ names: ["white_balance_automatic", "white_balance_temperature_auto"], value: 0, optional: true });
  if (o.whiteBalanceK !== undefined) controls.push({ names: ["white_balance_temperature"], value: o.whiteBalanceK });
  controls.push(
    { names: ["sharpness"], value: 0, optional: true },
    { names: ["backlight_compensation"], value: 0, optional: true },
  );
  return controls;
}

export function v4l2FfmpegArgs(o: V4l2Options): string[] {
  return [
    "-hide_banner", "-nostdin", "-loglevel", "error",
    "-f", "v4l2",
    ...(o.inputFormat ? ["-input_format", o.inputFormat] : []),
    "-framerate", String(o.fps),
    "-video_size", `${o.width}x${o.height}`,
    "-i", o.device ?? "/dev/video0",
    "-f", "rawvideo", "-pix_fmt", o.pixelFormat ?? "gray", "-flush_packets", "1",
    "-",
  ];
}

export class V4l2Camera extends ProcessCamera {
  private readonly options: V4l2Options;

  constructor(options: V4l2Options) {
    const format = options.pixelFormat === "gray16le" ? "gray16le" : "gray8";
    super({
      ...options,
      kind: "v4l2",
      command: options.command ?? "ffmpeg",
      args: v4l2FfmpegArgs(options),
      layout: { format, width: options.width, height: options.height, bitDepth: options.bitDepth },
    });
    this.options = options;
  }

  override async start(): Promise<void> {
    await this.applyControls();
    await super.start();
  }

  /** Sets each control (first name the driver knows); a missing required control fails the start. */
  private async applyControls(): Promise<void> {
    const ctl = this.options.ctlCommand === undefined ? "v4l2-ctl" : this.options.ctlCommand;
    if (ctl === null) return;
    const device = this.options.device ?? "/dev/video0";
    for (const control of v4l2Controls(this.options)) {
      let lastError: unknown;
      for (const name of control.names) {
        try {
          await runCommand(ctl, ["-d", device, "--set-ctrl", `${name}=${control.value}`], { timeoutMs: 5000, env: this.options.env });
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error;
          if (error instanceof DeviceError && /could not be started/.test(error.message)) {
            throw new DeviceError(`${ctl} not found: install v4l-utils, or set ctlCommand to null to skip camera controls`, "camera", { cause: error });
          }
        }
      }
      if (lastError === undefined) continue;
      const message = `${device} has no ${control.names.join("/")} control`;
      if (!control.optional) throw new DeviceError(message, "camera", { cause: lastError });
      this.options.onEvent?.({ type: "warning", message });
    }
  }
}
