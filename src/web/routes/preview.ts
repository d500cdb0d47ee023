import { Hono } from "hono";
import type { Frame } from "../../hardware/camera/types.js";
import { encodePreviewJpeg } from "../../image/codec.js";
import type { Station } from "../../station/station.js";

const BOUNDARY = "focusboxframe";

export interface PreviewOptions {
  /** Frames per second of the MJPEG stream (config `server.previewFps`). */
  fps: number;
  /** Preview frames wider than this are decimated (cheap on a Pi with a 12 MP sensor). */
  maxWidth: number;
}

/**
 * The live preview: `GET /preview.mjpg` (multipart/x-mixed-replace, one part per new frame
 * at most `fps` per second) and `GET /preview.jpg` (one frame, the fallback). Every client
 * shares the station's preview frame and its JPEG.
 */
export function previewRoutes(station: Station, options: PreviewOptions, closing: AbortSignal): Hono {
  let cached: { seq: number; frame: Frame; jpeg: Promise<Buffer> } | null = null;
  const jpeg = async (): Promise<{ seq: number; jpeg: Buffer }> => {
    const { frame, seq } = await station.previewFrame();
    if (!cached || cached.frame !== frame) cached = { seq, frame, jpeg: encodePreviewJpeg(decimate(frame, options.maxWidth)) };
    return { seq, jpeg: await cached.jpeg };
  };
  const intervalMs = 1000 / options.fps;

  return new Hono()
    .get("/preview.jpg", async (c) => c.body(new Uint8Array((await jpeg()).jpeg), 200, { "content-type": "image/jpeg", "cache-control": "no-store" }))
    .get("/preview.mjpg", (c) => {
      let lastSeq = -1;
      let nextAt = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          for (;;) {
            const wait = nextAt - performance.now();
            if (wait > 0 && !(await sleep(wait, closing))) return controller.close();
            if (closing.aborted) return controller.close();
            nextAt = performance.now() + intervalMs;
            const part = await jpeg().catch(() => null);
            if (!part || part.seq === lastSeq) continue;
            lastSeq = part.seq;
            const head = `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${part.jpeg.length}\r\n\r\n`;
            controller.enqueue(Buffer.concat([Buffer.from(head), part.jpeg, Buffer.from("\r\n")]));
            return;
          }
        },
      });
      return c.body(body, 200, { "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`, "cache-control": "no-store" });
    });
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Keeps every k-th pixel of every k-th row so the width is at most `maxWidth`. */
export function decimate(frame: Frame, maxWidth: number): Frame {
  const k = Math.ceil(frame.width / maxWidth);
  if (k <= 1) return frame;
  const width = Math.floor(frame.width / k);
  const height = Math.floor(frame.height / k);
  const data = frame.data instanceof Uint8Array ? new Uint8Array(width * height) : new Uint16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = frame.data[y * k * frame.width + x * k];
  return { ...frame, data, width, height };
}
