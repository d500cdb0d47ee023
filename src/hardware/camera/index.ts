import type { Config } from "../../config/schema.js";
import type { Clock } from "../clock.js";
import type { Camera } from "./types.js";

type SubprocessCameraConfig = Extract<Config["camera"], { kind: "rpicam" | "gstreamer" | "v4l2" }>;

/** Creates a subprocess camera backend; only the chosen backend's module is imported. */
export async function createProcessCamera(config: SubprocessCameraConfig, clock: Clock, onEvent?: (event: unknown) => void): Promise<Camera> {
  switch (config.kind) {
    case "rpicam": {
      const { RpicamCamera } = await import("./rpicam.js");
      return new RpicamCamera({ ...config, clock, onEvent });
    }
    case "gstreamer": {
      const { GstreamerCamera } = await import("./gstreamer.js");
      return new GstreamerCamera({ ...config, clock, onEvent });
    }
    case "v4l2": {
      const { V4l2Camera } = await import("./v4l2.js");
      return new V4l2Camera({ ...config, clock, onEvent });
    }
  }
}
