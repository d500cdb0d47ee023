import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import type { Station } from "../../src/station/station.js";
import { simulatedStation } from "../helpers.js";
import { appFor, post, TOKEN } from "./api.js";

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

describe("captures", () => {
  it("saves a 16-bit PNG with a JSON sidecar, lists it and serves it by id", async () => {
    station = await simulatedStation({ camera: { kind: "simulated", bitDepth: 12, width: 128, height: 96 } });
    const app = appFor(station);
    const res = await app.request("/api/capture", post({ note: "slide 3" }));
    expect(res.status).toBe(201);
    const info = await res.json();
    expect(info).toMatchObject({ zUm: 0, width: 128, height: 96, bitDepth: 12, pngBits: 16, note: "slide 3", camera: "simulated" });
    const dir = join(station.config.stateDir, "captures");
    expect(JSON.parse(readFileSync(join(dir, `${info.id}.json`), "utf8"))).toEqual(info);
    const list = await (await app.request("/api/captures")).json();
    expect(list.captures.map((c: { id: string }) => c.id)).toEqual([info.id]);
    const png = await app.request(`/api/captures/${info.id}`);
    expect(png.headers.get("content-type")).toBe("image/png");
    const meta = await sharp(Buffer.from(await png.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ width: 128, height: 96, depth: "ushort", channels: 1 });
    expect(await (await app.request(`/api/captures/${info.id}/meta`)).json()).toEqual(info);
  });

  it("saves 8-bit frames as 8-bit PNG", async () => {
    station = await simulatedStation({ camera: { kind: "simulated", width: 64, height: 48 } });
    const info = await station.capture();
    expect(info.pngBits).toBe(8);
    expect((await sharp(join(station.config.stateDir, "captures", info.file)).metadata()).depth).toBe("uchar");
  });

  it("never reads outside the captures directory", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    writeFileSync(join(station.config.stateDir, "secret.json"), '{"secret":"leak"}');
    writeFileSync(join(station.config.stateDir, "secret.png"), "leak");
    const attempts = ["..%2Fsecret", "..%2F..%2Fsecret", "%2e%2e%2fsecret", "..", "secret", "20250101T000000000Z-abcdef", "x%00", "%2Fetc%2Fpasswd"];
    for (const id of attempts)
      for (const suffix of ["", "/meta"]) {
        const res = await app.request(`/api/captures/${id}${suffix}`);
        expect([400, 404], `${id}${suffix}`).toContain(res.status);
        expect(await res.text()).not.toContain("leak");
      }
    expect((await app.request("/api/captures/../secret.json")).status).toBe(404);
  });
});

describe("calibrate and record stack", () => {
  it("records a calibration stack around the current position by default, and returns there", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    await app.request("/api/stage/move", post({ zUm: 5 }));
    const res = await app.request("/api/calibrate", post({ name: "10x-test", halfRangeUm: 2, stepUm: 1 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kind: "stack", name: "10x-test", path: "stacks/10x-test", planes: 5 });
    const manifest = JSON.parse(readFileSync(join(station.config.stateDir, "stacks", "10x-test", "stack.json"), "utf8"));
    expect(manifest.planes.map((p: { zUm: number }) => p.zUm)).toEqual([3, 4, 5, 6, 7]);
    expect(manifest.objective).toEqual({ magnification: 10, na: 0.3 });
    expect(station.status()).toMatchObject({ positionUm: 5, lastCalibration: { name: "10x-test" } });
  });

  it("runs an injected calibration instead", async () => {
    station = await simulatedStation({}, {
      calibrate: async (ctx, request) => {
        ctx.onProgress(1, 1, ctx.stage.positionUm());
        return { kind: "profile", name: request.name ?? "auto", path: "calibration/auto.json", planes: 1, fwhmUm: 7.5, binning: 2, captureRangeUm: 30, curve: [{ zUm: 0, b: 1 }] };
      },
    });
    const res = await appFor(station).request("/api/calibrate", post());
    expect(await res.json()).toMatchObject({ kind: "profile", name: "auto", fwhmUm: 7.5, binning: 2, captureRangeUm: 30 });
    expect(station.log()[0].detail).toBe("profile auto: 1 planes, FWHM 7.50 µm → calibration/auto.json");
  });

  it("records a relative z-stack into the state dir", async () => {
    station = await simulatedStation({ camera: { kind: "simulated", width: 64, height: 48 } });
    const res = await appFor(station).request("/api/stack", post({ fromUm: -1, toUm: 1, stepUm: 0.5, relative: true }));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ planes: 5, path: expect.stringMatching(/^stacks\/stack-\d{8}T/) });
    expect(existsSync(join(station.config.stateDir, body.path, "stack.json"))).toBe(true);
  });
});

describe("live streams", () => {
  it("streams state, image, result and operation events over SSE", async () => {
    station = await simulatedStation({ microscope: { focusUm: 8 } });
    const app = appFor(station);
    const res = await app.request("/api/events");
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const seen: string[] = [];
    let text = "";
    const readUntil = async (name: string) => {
      while (!seen.includes(name)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += new TextDecoder().decode(value);
        const blocks = text.split("\n\n");
        text = blocks.pop()!;
        for (const b of blocks) {
          const event = /^event: (\w+)$/m.exec(b)?.[1];
          if (event) seen.push(event);
        }
      }
    };
    await readUntil("state");
    expect((await app.request("/api/autofocus", post())).status).toBe(200);
    await readUntil("operation");
    expect(seen).toEqual(expect.arrayContaining(["state", "image", "result", "operation"]));
    expect(seen.indexOf("image")).toBeLessThan(seen.indexOf("result"));
    await reader.cancel();
  });

  it("serves an MJPEG stream of preview frames, and a single JPEG", async () => {
    station = await simulatedStation();
    const app = appFor(station, { previewFps: 50 });
    const res = await app.request("/api/preview.mjpg");
    expect(res.headers.get("content-type")).toBe("multipart/x-mixed-replace; boundary=focusboxframe");
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const chunk = Buffer.from(value!);
    expect(chunk.subarray(0, 15).toString()).toBe("--focusboxframe");
    const start = chunk.indexOf("\r\n\r\n") + 4;
    expect([...chunk.subarray(start, start + 2)]).toEqual([0xff, 0xd8]);
    await reader.cancel();
    const jpg = await app.request("/api/preview.jpg");
    expect(jpg.headers.get("content-type")).toBe("image/jpeg");
  });

  it("ends the streams when the server closes", async () => {
    station = await simulatedStation();
    const closing = new AbortController();
    const app = appFor(station, { closing: closing.signal });
    const sse = (await app.request(`/api/events?token=${TOKEN}`)).body!.getReader();
    const mjpg = (await app.request("/api/preview.mjpg")).body!.getReader();
    await sse.read();
    await mjpg.read();
    closing.abort();
    const drain = async (r: ReadableStreamDefaultReader<Uint8Array>) => {
      for (;;) if ((await r.read()).done) return true;
    };
    expect(await drain(sse)).toBe(true);
    expect(await drain(mjpg)).toBe(true);
  });
});
