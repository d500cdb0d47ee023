import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readGrayImage } from "../../src/image/codec.js";
import { configuredRefocus, type RefocusSource } from "../../src/refocus/index.js";
import { parseConfig } from "../../src/config/load.js";
import type { Station } from "../../src/station/station.js";
import { join } from "node:path";
import { simulatedStation } from "../helpers.js";
import { appFor, post } from "../web/api.js";

let station: Station | undefined;
let refocus: RefocusSource;
beforeAll(() => {
  refocus = configuredRefocus(parseConfig({}));
});
afterAll(() => refocus.close());
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

describe("POST /api/refocus", () => {
  it("refocuses the last capture into a new capture of the same size and bit depth", async () => {
    station = await simulatedStation({ camera: { kind: "simulated", width: 160, height: 120, bitDepth: 12 }, microscope: { focusUm: 15 } });
    const app = appFor(station, { refocus });
    const first = await (await app.request("/api/capture", post({}))).json();
    const res = await app.request("/api/refocus", post({}));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ source: first.id, refocus: { method: "net", tiles: 1 }, capture: { width: 160, height: 120, bitDepth: 12, pngBits: 16, refocusOf: first.id } });
    const png = await app.request(`/api/captures/${body.capture.id}`);
    expect(png.status).toBe(200);
    const frame = await readGrayImage(join(station.captures.dir, body.capture.file));
    expect([frame.width, frame.height]).toEqual([160, 120]);
    expect(Math.max(...frame.data)).toBeLessThanOrEqual(4095);
    // "last capture" skips refocus results: refocusing again uses the original
    const again = await (await app.request("/api/refocus", post({}))).json();
    expect(again.source).toBe(first.id);
    const log = await (await app.request("/api/log")).json();
    expect(log.operations.map((o: { operation: string }) => o.operation)).toEqual(["capture", "refocus", "refocus"]);
  });

  it("auto hands a capture 2 DOF out of focus to Wiener, which reads its defocus per tile", async () => {
    station = await simulatedStation({ microscope: { focusUm: 15 } });
    const app = appFor(station, { refocus });
    await app.request("/api/capture", post({}));
    const res = await app.request("/api/refocus", post({ method: "auto" }));
    expect(res.status).toBe(201);
    const { refocus: info } = await res.json();
    expect(info).toMatchObject({ method: "auto", via: "wiener", modelSha256: null });
    for (const d of info.defocusUm) expect(Math.abs(d - 15), `tiles read ${info.defocusUm}`).toBeLessThan(4);
  });

  it("answers 404 without a capture, 400 for a bad body or id, 401 without the token", async () => {
    station = await simulatedStation({ camera: { kind: "simulated", width: 64, height: 48 } });
    const app = appFor(station, { refocus });
    const none = await app.request("/api/refocus", post({}));
    expect(none.status).toBe(404);
    expect((await none.json()).detail).toMatch(/no capture to refocus yet/);
    for (const body of [{ method: "magic" }, { extra: 1 }, "{not json", { id: "../../etc/passwd" }]) {
      const res = await app.request("/api/refocus", post(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid request" });
    }
    const unknown = await app.request("/api/refocus", post({ id: "20260101T000000000Z-abcdef" }));
    expect(unknown.status).toBe(404);
    expect((await app.request("/api/refocus", post({}, null))).status).toBe(401);
  });
});
