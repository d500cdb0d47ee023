import { z } from "zod";

/** Config shapes of the real stage, button and LED backends (src/hardware/{stage,button,led}). */

const pin = z.union([z.number().int().min(0), z.string().min(1)]);
const chip = {
  /** libgpiod (Pi 5, Jetson; needs node-libgpiod) or onoff (sysfs; cannot set pulls). */
  library: z.enum(["libgpiod", "onoff"]).default("libgpiod"),
  /** Chip label ("pinctrl-rp1"), name ("gpiochip4") or "auto" for the header's controller. */
  chip: z.string().default("auto"),
};
const motion = {
  /** Full motor steps per µm of focus travel (gearing, knob, lead screw). */
  stepsPerUm: z.number().positive(),
  microsteps: z.number().int().min(1).max(256).default(1),
  invert: z.boolean().default(false),
  maxSpeedUmPerS: z.number().positive().default(200),
  accelUmPerS2: z.number().positive().default(2000),
  settleMs: z.number().min(0).default(30),
};

export const pigpioStage = z.strictObject({
  kind: z.literal("pigpio"),
  stepPin: z.number().int().min(1).max(27),
  dirPin: z.number().int().min(1).max(27),
  enablePin: z.number().int().min(1).max(27).optional(),
  enableActiveLow: z.boolean().default(true),
  releaseWhenIdle: z.boolean().default(false),
  pulseUs: z.number().positive().default(5),
  ...motion,
});

export const gpiodStage = z.strictObject({
  kind: z.literal("gpiod"),
  driver: z.enum(["step-dir", "uln2003"]).default("step-dir"),
  stepPin: pin.optional(),
  dirPin: pin.optional(),
  enablePin: pin.optional(),
  enableActiveLow: z.boolean().default(true),
  /** uln2003: IN1–IN4 in order. */
  coilPins: z.array(pin).length(4).optional(),
  releaseWhenIdle: z.boolean().optional(),
  ...chip,
  ...motion,
});

export const serialBridgeStage = z.strictObject({
  kind: z.literal("serial-bridge"),
  /** Serial device of the firmware bridge, e.g. /dev/ttyUSB0. */
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(115200),
  stepsPerUm: z.number().positive(),
  maxSpeedUmPerS: z.number().positive().default(200),
  accelUmPerS2: z.number().positive().default(2000),
  /** Allowance beyond the move's computed duration before a move times out. */
  moveTimeoutMs: z.number().positive().default(2000),
  invert: z.boolean().default(false),
});

export const buttonConfig = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("none") }),
    z.strictObject({
      kind: z.literal("gpio"),
      pin,
      activeLow: z.boolean().default(true),
      pull: z.enum(["up", "down", "none"]).optional(),
      debounceMs: z.number().positive().default(30),
      longPressMs: z.number().positive().default(1000),
      pollMs: z.number().positive().default(5),
      ...chip,
    }),
    z.strictObject({ kind: z.literal("serial-bridge"), path: z.string().min(1), baudRate: z.number().int().positive().default(115200), longPressMs: z.number().positive().default(1000) }),
  ])
  .prefault({ kind: "none" });

export const ledConfig = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("none") }),
    z.strictObject({
      kind: z.literal("gpio"),
      pin,
      activeLow: z.boolean().default(false),
      blinkMs: z.number().positive().default(500),
      fastBlinkMs: z.number().positive().default(100),
      ...chip,
    }),
  ])
  .prefault({ kind: "none" });
