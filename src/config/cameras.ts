import { z } from "zod";

/** Config shapes of the subprocess camera backends (src/hardware/camera/{rpicam,gstreamer,v4l2}.ts). */

/**
 * `camera.flatField`: frames are divided by this flat-field image (an empty, evenly lit field at
 * the frames' exposure) above the camera's dark level, so that vignetting and dust shadows, which
 * do not blur with focus, are gone before anything scores them (src/image/flat-field.ts). A dark
 * frame (`darkFile`, recorded with no light) replaces the dark level and also removes the
 * camera's fixed-pattern offsets (column stripes).
 */
export const flatFieldConfig = {
  flatField: z
    .strictObject({ file: z.string().min(1), darkLevelDn: z.number().min(0).default(0), darkFile: z.string().min(1).optional() })
    .refine((f) => f.darkFile === undefined || f.darkLevelDn === 0, { message: "give darkLevelDn or darkFile, not both: a dark frame holds the dark level of every pixel" })
    .optional(),
};

const processCamera = {
  ...flatFieldConfig,
  fps: z.number().positive().max(240).default(30),
  /** Extra pipeline delay added to the fresh-frame estimate. */
  latencyMs: z.number().min(0).default(0),
  /** Sample-plane pixel size (sensor pitch ÷ magnification), when known. */
  pixelSizeUm: z.number().positive().optional(),
  restart: z
    .strictObject({
      maxRestarts: z.number().int().min(0).default(5),
      initialDelayMs: z.number().positive().default(250),
      maxDelayMs: z.number().positive().default(8000),
      stableMs: z.number().positive().default(10_000),
    })
    .prefault({}),
  startTimeoutMs: z.number().positive().default(10_000),
  frameTimeoutMs: z.number().positive().default(10_000),
};

export const rpicamCamera = z.strictObject({
  kind: z.literal("rpicam"),
  width: z.number().int().positive().default(1332),
  height: z.number().int().positive().multipleOf(2).default(990),
  exposureUs: z.number().positive().default(10_000),
  gain: z.number().min(1).default(1),
  awbGains: z.tuple([z.number().positive(), z.number().positive()]).default([1, 1]),
  cameraIndex: z.number().int().min(0).optional(),
  tuningFile: z.string().optional(),
  vidCommand: z.string().default("rpicam-vid"),
  stillCommand: z.string().default("rpicam-still"),
  stillWidth: z.number().int().positive().optional(),
  stillHeight: z.number().int().positive().optional(),
  /** Luma row stride in bytes; default: width rounded up to 64. */
  strideBytes: z.number().int().positive().optional(),
  extraArgs: z.array(z.string()).default([]),
  ...processCamera,
});

export const gstreamerCamera = z.strictObject({
  kind: z.literal("gstreamer"),
  width: z.number().int().positive().default(1280),
  height: z.number().int().positive().default(720),
  format: z.enum(["GRAY8", "GRAY16_LE", "I420"]).default("GRAY8"),
  bitDepth: z.number().int().min(8).max(16).optional(),
  exposureUs: z.number().positive().default(10_000),
  gain: z.number().min(1).default(1),
  sensorId: z.number().int().min(0).default(0),
  /** Pipeline source elements; default: the Jetson nvarguscamerasrc with fixed exposure and gain. */
  source: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
  command: z.string().default("gst-launch-1.0"),
  ...processCamera,
});

export const v4l2Camera = z.strictObject({
  kind: z.literal("v4l2"),
  device: z.string().default("/dev/video0"),
  width: z.number().int().positive().default(640),
  height: z.number().int().positive().default(480),
  pixelFormat: z.enum(["gray", "gray16le"]).default("gray"),
  bitDepth: z.number().int().min(8).max(16).optional(),
  /** ffmpeg -input_format, e.g. "yuyv422", "mjpeg". */
  inputFormat: z.string().optional(),
  exposureUs: z.number().positive().optional(),
  gain: z.number().min(0).optional(),
  whiteBalanceK: z.number().int().min(1000).max(15000).optional(),
  command: z.string().default("ffmpeg"),
  ctlCommand: z.string().nullable().default("v4l2-ctl"),
  ...processCamera,
});
