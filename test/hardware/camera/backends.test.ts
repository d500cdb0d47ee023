import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeviceError } from "../../../src/errors.js";
import { GstreamerCamera, gstreamerArgs, gstLayout } from "../../../src/hardware/camera/gstreamer.js";
import type { StreamEvent } from "../../../src/hardware/camera/stream-reader.js";
import { RpicamCamera, rpicamStride, type RpicamOptions } from "../../../src/hardware/camera/rpicam.js";
import type { Camera } from "../../../src/hardware/camera/types.js";
import { V4l2Camera } from "../../../src/hardware/camera/v4l2.js";
import { FIXTURE_ENV, FIXTURES, frameNumber, patternErrors, processExists } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "focusbox-backends-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cameras: Camera[] = [];
afterEach(async () => {
  await Promise.all(cameras.splice(0).map((c) => c.stop()));
});

function use<T extends Camera>(camera: T): T {
  cameras.push(camera);
  return camera;
}

async function logLines(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).trim().split("\n");
}

describe("rpicam backend (fake rpicam-vid / rpicam-still emitting the device's byte layout)", () => {
  const options = (log: string): RpicamOptions => ({
    width: 100,
    height: 60,
    fps: 30,
    exposureUs: 8000,
    gain: 2,
    awbGains: [1.5, 1.2],
    vidCommand: join(FIXTURES, "fake-rpicam-vid"),
    stillCommand: join(FIXTURES, "fake-rpicam-still"),
    env: { ...FIXTURE_ENV, FAKE_ARGS_LOG: log },
  });

  it("pads luma rows to 64 bytes like rpicam-vid", () => {
    expect([rpicamStride(100), rpicamStride(128), rpicamStride(1456)]).toEqual([128, 128, 1472]);
  });

  it("streams the Y plane with manual exposure, gain and white balance, no denoise or sharpening", async () => {
    const log = join(dir, "rpicam-vid.log");
    const camera = use(new RpicamCamera(options(log)));
    expect(camera.info).toMatchObject({ kind: "rpicam", width: 100, height: 60, bitDepth: 8 });
    await camera.start();
    const frame = await camera.grab();
    expect(frame.data.length).toBe(100 * 60);
    expect(patternErrors(frame)).toBe(0);
    const [args] = await logLines(log);
    expect(args).toContain("--codec yuv420 -o - --flush --width 100 --height 60 --framerate 30 -t 0");
    expect(args).toContain("--shutter 8000 --gain 2 --awbgains 1.5,1.2 --denoise off --sharpness 0 -n");
  });

  it("pauses the stream for a full-resolution still and resumes it", async () => {
    const log = join(dir, "rpicam-still.log");
    const camera = use(new RpicamCamera(options(log)));
    await camera.start();
    const streamPid = camera.pid!;
    const before = performance.now();
    const still = await camera.captureStill();
    expect(still).toMatchObject({ width: 320, height: 240, bitDepth: 8 });
    expect(still.timestampMs).toBeGreaterThanOrEqual(before);
    expect(processExists(streamPid)).toBe(false);
    const frame = await camera.grab();
    expect(frameNumber(frame)).toBeGreaterThanOrEqual(0);
    expect(patternErrors(frame)).toBe(0);
    const lines = await logLines(log);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^--immediate -e png -o \S+still\.png --shutter 8000 --gain 2 --awbgains 1\.5,1\.2 --denoise off --sharpness 0 -n$/);
  });
});

describe("gstreamer backend (real gst-launch-1.0)", () => {
  it("builds the default Jetson pipeline with fixed exposure and processing off", () => {
    const args = gstreamerArgs({ width: 1280, height: 720, fps: 30, exposureUs: 5000, gain: 2 });
    expect(args.slice(0, 2)).toEqual(["-q", "nvarguscamerasrc"]);
    expect(args).toContain("exposuretimerange=5000000 5000000");
    expect(args).toContain("gainrange=2 2");
    expect(args).toEqual(expect.arrayContaining(["tnr-mode=0", "ee-mode=0", "wbmode=0", "nvvidconv"]));
    expect(args.slice(-6)).toEqual(["!", "video/x-raw,format=GRAY8,width=1280,height=720", "!", "fdsink", "fd=1", "sync=false"]);
  });

  it("matches GStreamer's I420 buffer size for odd sizes", () => {
    const layout = gstLayout("I420", 90, 61);
    expect(layout).toMatchObject({ strideBytes: 92 });
    expect(layout.frameBytes).toBe(92 * 62 + 2 * 48 * 31); // measured with gst-launch-1.0 | wc -c
  });

  for (const format of ["GRAY8", "I420"] as const) {
    it(`grabs ${format} frames from videotestsrc`, async () => {
      const camera = use(
        new GstreamerCamera({
          width: 90,
          height: 61,
          fps: 30,
          format,
          exposureUs: 10_000,
          gain: 1,
          source: "videotestsrc is-live=true pattern=gradient ! video/x-raw,framerate=30/1 ! videoconvert",
        }),
      );
      await camera.start();
      const frame = await camera.grab();
      expect(frame.data.length).toBe(90 * 61);
      for (let y = 0; y < 61; y++) {
        const row = frame.data.subarray(y * 90, y * 90 + 90);
        expect(Math.max(...row) - Math.min(...row)).toBeLessThanOrEqual(1);
      }
      expect(frame.data[60 * 90]).toBeGreaterThan(frame.data[0] + 100);
    });
  }

  it("survives gst-launch being killed mid-stream", async () => {
    const events: StreamEvent[] = [];
    const camera = use(
      new GstreamerCamera({
        width: 64,
        height: 48,
        fps: 30,
        exposureUs: 10_000,
        gain: 1,
        source: ["videotestsrc", "is-live=true", "!", "videoconvert"],
        restart: { initialDelayMs: 50 },
        onEvent: (e) => events.push(e),
      }),
    );
    await camera.start();
    const pid = camera.pid!;
    process.kill(pid, "SIGKILL");
    const frame = await camera.grab();
    expect(frame.data.length).toBe(64 * 48);
    expect(camera.pid).not.toBe(pid);
    expect(events.filter((e) => e.type === "restart")).toHaveLength(1);
  });
});

describe("v4l2 backend (ffmpeg with the v4l2 input swapped for lavfi; fake v4l2-ctl)", () => {
  it("sets manual controls, falling back to legacy names, then streams gray frames", async () => {
    const log = join(dir, "v4l2-ctl.log");
    const events: StreamEvent[] = [];
    const camera = use(
      new V4l2Camera({
        device: "/dev/video7",
        width: 64,
        height: 48,
        fps: 30,
        exposureUs: 10_000,
        gain: 4,
        whiteBalanceK: 5000,
        command: join(FIXTURES, "fake-v4l2-ffmpeg"),
        ctlCommand: join(FIXTURES, "fake-v4l2-ctl"),
        env: { ...FIXTURE_ENV, FAKE_ARGS_LOG: log, FAKE_MISSING_CTRLS: "auto_exposure backlight_compensation" },
        onEvent: (e) => events.push(e),
      }),
    );
    await camera.start();
    const frame = await camera.grab();
    expect(frame).toMatchObject({ width: 64, height: 48, bitDepth: 8 });
    expect(patternErrors(frame)).toBe(0);
    const calls = await logLines(log);
    expect(calls).toContain("-d /dev/video7 --set-ctrl exposure_auto=1");
    expect(calls).toContain("-d /dev/video7 --set-ctrl exposure_time_absolute=100");
    expect(calls).toContain("-d /dev/video7 --set-ctrl gain=4");
    expect(calls).toContain("-d /dev/video7 --set-ctrl white_balance_automatic=0");
    expect(calls).toContain("-d /dev/video7 --set-ctrl white_balance_temperature=5000");
    expect(calls).toContain("-d /dev/video7 --set-ctrl sharpness=0");
    expect(events).toContainEqual({ type: "warning", message: "/dev/video7 has no backlight_compensation control" });
  });

  it("reads gray16le", async () => {
    const camera = use(
      new V4l2Camera({
        width: 40,
        height: 30,
        fps: 30,
        pixelFormat: "gray16le",
        bitDepth: 16,
        command: join(FIXTURES, "fake-v4l2-ffmpeg"),
        ctlCommand: null,
        env: FIXTURE_ENV,
      }),
    );
    await camera.start();
    const frame = await camera.grab();
    expect(frame.data).toBeInstanceOf(Uint16Array);
    // ffmpeg widens the 8-bit pattern to 16 bits (v × 257).
    expect(patternErrors({ ...frame, data: frame.data.map((v) => v / 257) })).toBe(0);
  });

  it("fails start with one clear line when a required control is missing", async () => {
    const camera = use(
      new V4l2Camera({
        width: 40,
        height: 30,
        fps: 30,
        gain: 2,
        command: join(FIXTURES, "fake-v4l2-ffmpeg"),
        ctlCommand: join(FIXTURES, "fake-v4l2-ctl"),
        env: { ...FIXTURE_ENV, FAKE_MISSING_CTRLS: "gain" },
      }),
    );
    await expect(camera.start()).rejects.toThrow(new DeviceError("/dev/video0 has no gain control", "camera"));
    await expect(camera.grab()).rejects.toBeInstanceOf(DeviceError);
  });
});
