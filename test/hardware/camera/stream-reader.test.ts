import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CanceledError, DeviceError } from "../../../src/errors.js";
import { extractGray, resolveLayout, StreamReader, type StreamEvent, type StreamReaderOptions } from "../../../src/hardware/camera/stream-reader.js";
import { FIXTURES, frameNumber, patternArgs, patternErrors, processExists, sleep } from "./helpers.js";

const readers: StreamReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.stop()));
});

function reader(options: StreamReaderOptions): StreamReader {
  const r = new StreamReader({ restart: { initialDelayMs: 50 }, ...options });
  readers.push(r);
  return r;
}

/** Padded I420 like rpicam-vid: 100 visible pixels, luma rows of 128 bytes, chroma rows of 64. */
function paddedI420(fps: number, extra: Partial<StreamReaderOptions> = {}): StreamReaderOptions {
  return {
    command: "ffmpeg",
    args: patternArgs({ width: 100, height: 60, fps, pixFmt: "yuv420p", padTo: 128 }),
    layout: { format: "i420", width: 100, height: 60, strideBytes: 128 },
    fps,
    ...extra,
  };
}

describe("frame layout", () => {
  it("sizes I420 with padded rows and takes only the visible luma", () => {
    const layout = resolveLayout({ format: "i420", width: 3, height: 2, strideBytes: 4 });
    expect(layout.frameBytes).toBe(4 * 2 + 2 * 2 * 1);
    const raw = Uint8Array.from([1, 2, 3, 99, 4, 5, 6, 99, 128, 128, 128, 128]);
    expect([...extractGray(raw, layout)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("decodes little-endian 16-bit rows", () => {
    const layout = resolveLayout({ format: "gray16le", width: 2, height: 1, bitDepth: 12 });
    const out = extractGray(Uint8Array.from([0x34, 0x12, 0xff, 0x0f]), layout);
    expect(out).toBeInstanceOf(Uint16Array);
    expect([...out]).toEqual([0x1234, 0x0fff]);
    expect(layout.bitDepth).toBe(12);
  });

  it("rejects a stride narrower than the row", () => {
    expect(() => resolveLayout({ format: "gray16le", width: 10, height: 2, strideBytes: 10 })).toThrow(RangeError);
  });
});

describe("StreamReader on real ffmpeg and gst-launch", () => {
  it("reads GRAY8 from ffmpeg testsrc2", async () => {
    const r = reader({
      command: "ffmpeg",
      args: ["-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
      layout: { format: "gray8", width: 64, height: 48 },
      fps: 30,
    });
    await r.start();
    const frame = await r.nextFrame();
    expect(frame).toMatchObject({ width: 64, height: 48, bitDepth: 8 });
    expect(frame.data).toBeInstanceOf(Uint8Array);
    expect(frame.data.length).toBe(64 * 48);
    expect(new Set(frame.data).size).toBeGreaterThan(10);
  });

  it("takes the Y plane of padded-stride I420 (rpicam layout) and skips padding and chroma", async () => {
    const r = reader(paddedI420(30));
    await r.start();
    const a = await r.nextFrame();
    const b = await r.nextFrame();
    expect(a.data.length).toBe(100 * 60);
    expect(patternErrors(a)).toBe(0);
    expect(patternErrors(b)).toBe(0);
    expect(frameNumber(b)).toBeGreaterThan(frameNumber(a));
  });

  it("reads GRAY16LE", async () => {
    const r = reader({
      command: "ffmpeg",
      args: patternArgs({ width: 40, height: 30, fps: 30, pixFmt: "gray16le" }),
      layout: { format: "gray16le", width: 40, height: 30, bitDepth: 16 },
      fps: 30,
    });
    await r.start();
    const frame = await r.nextFrame();
    expect(frame.data).toBeInstanceOf(Uint16Array);
    expect(patternErrors(frame)).toBe(0);
  });

  it("reads gst-launch GRAY8 with GStreamer's 4-byte row padding (width 90 → stride 92)", async () => {
    const r = reader({
      command: "gst-launch-1.0",
      args: ["-q", "videotestsrc", "is-live=true", "pattern=gradient", "!", "video/x-raw,format=GRAY8,width=90,height=61,framerate=30/1", "!", "fdsink", "fd=1", "sync=false"],
      layout: { format: "gray8", width: 90, height: 61, strideBytes: 92 },
      fps: 30,
    });
    await r.start();
    const frame = await r.nextFrame();
    expect(frame.data.length).toBe(90 * 61);
    // The vertical gradient is constant along each row: any stride error would shear it.
    for (let y = 0; y < 61; y++) {
      const row = frame.data.subarray(y * 90, y * 90 + 90);
      expect(Math.max(...row) - Math.min(...row)).toBeLessThanOrEqual(1);
    }
    expect(frame.data[60 * 90]).toBeGreaterThan(frame.data[0]);
  });

  it("returns only fresh frames: exposure start (estimated) at or after the request", async () => {
    const fps = 20;
    const r = reader(paddedI420(fps, { exposureUs: 20_000, latencyMs: 10 }));
    await r.start();
    await r.nextFrame();
    for (let i = 0; i < 3; i++) {
      const before = r.latestFrame()!;
      const requestedMs = performance.now();
      const frame = await r.nextFrame();
      expect(frame.timestampMs).toBeGreaterThanOrEqual(requestedMs);
      expect(frame.arrivalMs - frame.timestampMs).toBeCloseTo(50 + 20 + 10, 6);
      expect(frameNumber(frame)).toBeGreaterThan(frameNumber(before));
      expect(frame.seq).toBeGreaterThan(before.seq);
    }
  });

  it("keeps only the newest frame for a slow consumer; the producer is never held back", async () => {
    const fps = 30;
    const r = reader(paddedI420(fps));
    await r.start();
    const t0 = performance.now();
    const numbers: number[] = [];
    for (let i = 0; i < 4; i++) {
      const frame = await r.nextFrame();
      numbers.push(frameNumber(frame));
      expect(frame.seq).toBe(r.stats().received);
      // Every frame the producer wrote was read off the pipe: sequence = source frame number + 1.
      expect(frame.seq).toBe(frameNumber(frame) + 1);
      await sleep(300);
    }
    for (let i = 1; i < numbers.length; i++) expect(numbers[i] - numbers[i - 1]).toBeGreaterThanOrEqual(7);
    const elapsedS = (performance.now() - t0) / 1000;
    const stats = r.stats();
    expect(stats.received).toBeGreaterThan(elapsedS * fps * 0.75);
    expect(stats.dropped).toBeGreaterThan(stats.delivered * 5);
    expect(stats.bufferedBytes).toBe(2 * r.layout.frameBytes);
  });

  it("restarts a killed process with back-off and keeps serving frames", async () => {
    const events: StreamEvent[] = [];
    const r = reader(paddedI420(30, { onEvent: (e) => events.push(e) }));
    await r.start();
    const first = await r.nextFrame();
    const pid = r.pid!;
    process.kill(pid, "SIGKILL");
    const after = await r.nextFrame();
    expect(after.seq).toBeGreaterThan(first.seq);
    expect(patternErrors(after)).toBe(0);
    expect(r.pid).not.toBe(pid);
    expect(events.map((e) => e.type)).toEqual(["spawn", "exit", "restart", "spawn"]);
    expect(events[1]).toMatchObject({ type: "exit", signal: "SIGKILL" });
    expect(events[2]).toMatchObject({ type: "restart", attempt: 1, delayMs: 50 });
  });

  it("rejects pending and later grabs with DeviceError when restarts are exhausted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "focusbox-cam-"));
    try {
      const events: StreamEvent[] = [];
      const r = reader({
        ...paddedI420(30),
        command: join(FIXTURES, "dies-after-first-run"),
        args: [join(dir, "marker"), "ffmpeg", ...paddedI420(30).args],
        restart: { maxRestarts: 2, initialDelayMs: 20 },
        onEvent: (e) => events.push(e),
      });
      await r.start();
      await r.nextFrame();
      const pending = r.nextFrame();
      process.kill(r.pid!, "SIGKILL");
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as Error).message).toMatch(/gave up after 2 restarts/);
      expect((error as Error).message).toMatch(/camera gone/);
      await expect(r.nextFrame()).rejects.toBeInstanceOf(DeviceError);
      expect(events.filter((e) => e.type === "restart").map((e) => (e as { delayMs: number }).delayMs)).toEqual([20, 40]);
      expect(events.at(-1)?.type).toBe("failed");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails start with a clear DeviceError when the binary is missing or dies at once", async () => {
    const missing = reader({ ...paddedI420(30), command: "/nonexistent/rpicam-vid" });
    await expect(missing.start()).rejects.toThrow(/\/nonexistent\/rpicam-vid could not be started/);
    const dies = reader({ ...paddedI420(30), args: ["-f", "lavfi", "-i", "nosuchsource"] });
    await expect(dies.start()).rejects.toThrow(DeviceError);
  });

  it("rejects a grab with CanceledError on abort", async () => {
    const r = reader(paddedI420(5));
    await r.start();
    const controller = new AbortController();
    const grab = r.nextFrame(controller.signal);
    controller.abort();
    await expect(grab).rejects.toBeInstanceOf(CanceledError);
    expect(r.stats().delivered).toBe(0);
  });

  it("stops cleanly: pending grabs reject, the child is reaped", async () => {
    const r = reader(paddedI420(30));
    await r.start();
    const pid = r.pid!;
    const pending = r.nextFrame().catch((e: unknown) => e);
    await r.stop();
    expect(await pending).toBeInstanceOf(DeviceError);
    expect(r.pid).toBeUndefined();
    expect(processExists(pid)).toBe(false);
    await expect(r.nextFrame()).rejects.toBeInstanceOf(DeviceError);
  });

  it("falls back to SIGKILL when the process ignores SIGTERM", async () => {
    const r = reader({
      command: "sh",
      args: ["-c", 'trap "" TERM; while :; do head -c 6000 /dev/zero; sleep 0.05; done'],
      layout: { format: "gray8", width: 100, height: 60 },
      fps: 20,
      killTimeoutMs: 200,
    });
    await r.start();
    const pid = r.pid!;
    const t0 = performance.now();
    await r.stop();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(processExists(pid)).toBe(false);
  });
});
