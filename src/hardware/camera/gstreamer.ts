import { ProcessCamera, type ProcessCameraCommon } from "./process-camera.js";
import type { FrameLayout, RawFormat } from "./stream-reader.js";

export type GstFormat = "GRAY8" | "GRAY16_LE" | "I420";

/**
 * Any GStreamer source run by `gst-launch-1.0 -q <source> ! video/x-raw,format=…,width=…,height=…
 * ! fdsink fd=1 sync=false`. The default source is the Jetson CSI camera (nvarguscamerasrc with
 * fixed exposure and gain, auto white balance off, temporal noise reduction and edge
 * enhancement off, converted by nvvidconv). The pipeline is passed as an argument array, one
 * element per token, so property values may contain spaces.
 */
export interface GstreamerOptions extends ProcessCameraCommon {
  width: number;
  height: number;
  format?: GstFormat;
  /** Significant bits for GRAY16_LE. */
  bitDepth?: number;
  exposureUs: number;
  /** Sensor analogue gain (the ISP digital gain stays at 1). */
  gain: number;
  sensorId?: number;
  /**
   * Pipeline tokens before the output caps, ending in an element (e.g. a converter: gst-launch
   * rejects two caps filters in a row). A string is split on whitespace; use the array form for
   * property values with spaces. Default: the Jetson source.
   */
  source?: string | string[];
  command?: string;
}

const GST_FORMAT: Record<GstFormat, RawFormat> = { GRAY8: "gray8", GRAY16_LE: "gray16le", I420: "i420" };

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Byte layout of a raw GStreamer buffer in system memory (GstVideoInfo defaults: rows padded to 4 bytes). */
export function gstLayout(format: GstFormat, width: number, height: number, bitDepth?: number): FrameLayout {
  if (format !== "I420") {
    const bytesPerPixel = format === "GRAY16_LE" ? 2 : 1;
    return { format: GST_FORMAT[format], width, height, bitDepth, strideBytes: roundUp(width * bytesPerPixel, 4) };
  }
  const strideBytes = roundUp(width, 4);
  const chromaStride = roundUp(Math.ceil(width / 2), 4);
  const frameBytes = strideBytes * roundUp(height, 2) + 2 * chromaStride * Math.ceil(height / 2);
  return { format: "i420", width, height, strideBytes, frameBytes };
}

/** The default Jetson source: nvarguscamerasrc with manual exposure/gain, processing that biases focus metrics off. */
export function jetsonSource(o: Pick<GstreamerOptions, "sensorId" | "exposureUs" | "gain" | "width" | "height" | "fps">): string[] {
  const exposureNs = Math.round(o.exposureUs * 1000);
  return [
    "nvarguscamerasrc",
    `sensor-id=${o.sensorId ?? 0}`,
    `exposuretimerange=${exposureNs} ${exposureNs}`,
    `gainrange=${o.gain} ${o.gain}`,
    "ispdigitalgainrange=1 1",
    "aelock=true",
    "wbmode=0",
    "awblock=true",
    "tnr-mode=0",
    "ee-mode=0",
    "!",
    `video/x-raw(memory:NVMM),width=${o.width},height=${o.height},framerate=${Math.round(o.fps)}/1`,
    "!",
    "nvvidconv",
  ];
}

export function gstreamerArgs(o: GstreamerOptions): string[] {
  const source = o.source === undefined ? jetsonSource(o) : typeof o.source === "string" ? o.source.trim().split(/\s+/) : o.source;
  const caps = `video/x-raw,format=${o.format ?? "GRAY8"},width=${o.width},height=${o.height}`;
  return ["-q", ...source, "!", caps, "!", "fdsink", "fd=1", "sync=false"];
}

export class GstreamerCamera extends ProcessCamera {
  constructor(options: GstreamerOptions) {
    super({
      ...options,
      kind: "gstreamer",
      command: options.command ?? "gst-launch-1.0",
      args: gstreamerArgs(options),
      layout: gstLayout(options.format ?? "GRAY8", options.width, options.height, options.bitDepth),
    });
  }
}
