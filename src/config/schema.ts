import { z } from "zod";
import { CLASSICAL_METRIC_IDS } from "../focus/types.js";
import { DEFAULT_MAX_WINDOWS_PER_TILE } from "../inference/windows.js";
import { REFOCUS_METHODS } from "../refocus/types.js";
import { flatFieldConfig, gstreamerCamera, rpicamCamera, v4l2Camera } from "./cameras.js";
import { buttonConfig, gpiodStage, ledConfig, pigpioStage, serialBridgeStage } from "./hardware.js";

/**
 * The one focusbox configuration. Every field has a default, and the defaults run the
 * appliance on the simulated microscope. Validated before any device is touched.
 */

const roi = z
  .strictObject({
    x: z.number().min(0).max(1).default(0.2),
    y: z.number().min(0).max(1).default(0.2),
    width: z.number().gt(0).max(1).default(0.6),
    height: z.number().gt(0).max(1).default(0.6),
    cols: z.number().int().min(1).max(16).default(3),
    rows: z.number().int().min(1).max(16).default(3),
  })
  .refine((r) => r.x + r.width <= 1 + 1e-9 && r.y + r.height <= 1 + 1e-9, { message: "ROI must lie inside the frame (x + width ≤ 1, y + height ≤ 1)" });

export const SAMPLE_KINDS = ["tissue", "nuclei", "cells", "unstained", "beads", "empty"] as const;

const objective = z
  .strictObject({
    magnification: z.number().positive().default(10),
    na: z.number().positive().max(1.7).default(0.3),
    immersionIndex: z.number().min(1).max(2).default(1.0),
    wavelengthUm: z.number().min(0.2).max(2).default(0.55),
  })
  .refine((o) => o.na < o.immersionIndex, { message: "objective.na must be below objective.immersionIndex (no objective collects beyond its medium)", path: ["na"] });

const simulatedCamera = z.strictObject({
  kind: z.literal("simulated"),
  ...flatFieldConfig,
  width: z.number().int().min(32).max(4096).default(512),
  height: z.number().int().min(32).max(4096).default(384),
  bitDepth: z.union([z.literal(8), z.literal(12), z.literal(16)]).default(8),
  /** Physical camera pixel pitch (sensor plane). */
  pixelSizeUm: z.number().positive().default(3.45),
  exposureUs: z.number().positive().default(10_000),
  gain: z.number().positive().default(1),
  fps: z.number().positive().max(240).default(30),
  /** Mean photo-electrons per pixel for a fully transmitting / bright pixel at exposureUs = 10 ms and gain 1. */
  fullWellElectrons: z.number().positive().default(8000),
  readNoiseElectrons: z.number().min(0).default(3),
});

const replayCamera = z.strictObject({
  kind: z.literal("replay"),
  /** Z-stack directory (stack.json + planes). */
  stackDir: z.string().min(1),
  ...flatFieldConfig,
});

const simulatedStage = z.strictObject({
  kind: z.literal("simulated"),
  stepsPerUm: z.number().positive().default(4),
  maxSpeedUmPerS: z.number().positive().default(2000),
  accelUmPerS2: z.number().positive().default(20_000),
  settleMs: z.number().min(0).default(20),
  /** Mechanical slack of the focus drive: reversing direction first takes up this much travel. */
  slackUm: z.number().min(0).default(3),
});

const replayStage = z.strictObject({ kind: z.literal("replay") });

const microscope = z.strictObject({
  sample: z.enum(SAMPLE_KINDS).default("tissue"),
  /** A picture to use as the slide instead of `sample`: an in-focus 8/16-bit PNG or TIFF and its pixel size in the sample plane (µm). */
  sampleImage: z.strictObject({ file: z.string().min(1), pixelUm: z.number().positive() }).optional(),
  seed: z.number().int().default(1),
  /** Stage position (µm) at which the sample is in focus at t = 0. */
  focusUm: z.number().default(0),
  /** Slow thermal drift of the focal plane. */
  driftUmPerHour: z.number().default(0),
  /** RMS random jitter of the focal plane per frame. */
  jitterUm: z.number().min(0).default(0),
  /** Sample tilt, µm of focus change per mm across the field (x direction). */
  tiltUmPerMm: z.number().default(0),
  /** RMS frame-to-frame variation of the illumination, relative (0.03 = 3 %: a lamp on mains seen with a short exposure). */
  flickerRms: z.number().min(0).max(0.5).default(0),
  /** Fraction of the frame shadowed by dust on the camera's window (0 = clean; src/optics/dust.ts): shadows that do not blur with focus. */
  dust: z.number().min(0).max(0.5).default(0),
});

export const configSchema = z.strictObject({
  /** Where the token, calibration profiles and captures live. */
  stateDir: z.string().default(".focusbox"),
  log: z.strictObject({ level: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info") }).prefault({}),
  clock: z.enum(["real", "virtual"]).default("real"),
  server: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Serve GET /api/status and the page without a token. */
      publicStatus: z.boolean().default(true),
      /** MJPEG preview rate. */
      previewFps: z.number().positive().max(30).default(5),
      /** An operation running longer than this stops the systemd watchdog pings. */
      maxOperationMs: z.number().positive().default(30 * 60_000),
      /** Shutdown gives up waiting after this (keep below the unit's TimeoutStopSec). */
      stopTimeoutMs: z.number().positive().default(10_000),
    })
    .prefault({}),
  objective: objective.prefault({}),
  microscope: microscope.prefault({}),
  camera: z.discriminatedUnion("kind", [simulatedCamera, replayCamera, rpicamCamera, gstreamerCamera, v4l2Camera]).prefault({ kind: "simulated" }),
  stage: z
    .strictObject({
      backend: z.discriminatedUnion("kind", [simulatedStage, replayStage, pigpioStage, gpiodStage, serialBridgeStage]).prefault({ kind: "simulated" }),
      minUm: z.number().default(-500),
      maxUm: z.number().default(500),
      /** Backlash compensation: final approaches come from below, overshooting by this much first. 0 disables. */
      backlashUm: z.number().min(0).default(10),
    })
    .refine((s) => s.minUm < s.maxUm, { message: "stage.minUm must be below stage.maxUm" })
    .prefault({}),
  button: buttonConfig,
  /** What a long button press does when idle (a long press while busy always cancels). */
  buttonLongPress: z.enum(["cancel", "calibrate"]).default("cancel"),
  deepfocus: z
    .strictObject({
      /** Shipped model by precision, or the path of an ONNX file with the same inputs and outputs. */
      model: z.string().default("int8"),
      /** Tried in order; the first one available is used (the npm build on ARM64 is CPU-only). */
      executionProviders: z.array(z.enum(["tensorrt", "cuda", "cpu"])).min(1).default(["tensorrt", "cuda", "cpu"]),
      /** ONNX Runtime intra-op threads (0 = its default). */
      threads: z.number().int().min(0).default(0),
      /**
       * Most 256-px windows one ROI tile is scored on. Only tiles wider or taller than 256 px
       * (frames wider or taller than 1280 px with the default ROI) get more than one; each window costs one CNN run.
       */
      maxWindowsPerTile: z.number().int().min(1).max(16).default(DEFAULT_MAX_WINDOWS_PER_TILE),
      /** Image budget of a DeepFocus autofocus (the paper's method needs 3 when the first three bracket focus). */
      maxImages: z.number().int().min(3).max(50).default(10),
      /** Take a final verification image at the chosen position (counted in the images). */
      verify: z.boolean().default(false),
      /** Calibration profile used when a request names none (in <stateDir>/calibration); default `<M>x-na<NA>` of the objective. */
      profile: z.string().regex(/^[\w.-]+$/, "letters, digits, '.', '_' and '-' only").optional(),
    })
    .prefault({}),
  led: ledConfig,
  /** Single-shot digital refocus (`focusbox refocus`, POST /api/refocus, timelapse policy "refocus"). */
  refocus: z
    .strictObject({
      /**
       * `net`: the refocus network (models/refocus); `rl`: Richardson–Lucy with the DeepFocus blur
       * estimate per tile; `wiener`: blind Wiener deconvolution with the objective's pupil (needs the pixel size);
       * `auto`: `net` when the frame's spectral defocus estimate is within one DOF, `wiener` beyond.
       */
      method: z.enum(REFOCUS_METHODS).default("net"),
      /** Shipped network by precision ("fp32", "int8"), or the path of an ONNX file with the same I/O. */
      model: z.string().default("fp32"),
      executionProviders: z.array(z.enum(["tensorrt", "cuda", "cpu"])).min(1).default(["tensorrt", "cuda", "cpu"]),
      /** ONNX Runtime intra-op threads (0 = its default). */
      threads: z.number().int().min(0).default(0),
      /** Largest network tile side (px); tiles overlap by at least `overlap` px and are blended. */
      tileSize: z.number().int().min(64).max(4096).default(512),
      overlap: z.number().int().min(0).max(1024).default(64),
      rl: z
        .strictObject({
          iterations: z.number().int().min(1).max(500).default(10),
          /** Total-variation weight (0 = plain Richardson–Lucy). */
          tv: z.number().min(0).max(0.1).default(0.002),
        })
        .prefault({}),
    })
    .refine((r) => r.overlap < r.tileSize, { message: "refocus.overlap must be below refocus.tileSize", path: ["overlap"] })
    .prefault({}),
  autofocus: z
    .strictObject({
      metric: z.enum([...CLASSICAL_METRIC_IDS]).default("tenengrad"),
      strategy: z.enum(["brent", "sweep"]).default("brent"),
      /** Search half-range around the start position. */
      rangeUm: z.number().positive().default(100),
      toleranceUm: z.number().positive().default(0.25),
      maxImages: z.number().int().min(3).max(200).default(30),
      roi: roi.prefault({}),
    })
    .prefault({}),
})
  .superRefine((c, ctx) => {
    const coupled = ["simulated", "replay"];
    const cam = c.camera.kind;
    const st = c.stage.backend.kind;
    if ((coupled.includes(cam) || coupled.includes(st)) && cam !== st)
      ctx.addIssue({
        code: "custom",
        path: ["stage", "backend", "kind"],
        message: `camera.kind "${cam}" and stage.backend.kind "${st}" do not fit: the simulated and the replay microscope are one device each, so camera and stage must both be "simulated" or both be "replay"`,
      });
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type SampleKind = (typeof SAMPLE_KINDS)[number];
export type ObjectiveConfig = Config["objective"];
export type MicroscopeConfig = Config["microscope"];
export type SimulatedCameraConfig = z.infer<typeof simulatedCamera>;
export type SimulatedStageConfig = z.infer<typeof simulatedStage>;
