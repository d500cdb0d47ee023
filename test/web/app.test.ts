import { afterEach, describe, expect, it } from "vitest";
import type { Station } from "../../src/station/station.js";
import { createApp } from "../../src/web/app.js";
import { simulatedStation } from "../helpers.js";

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

const post = (path: string, body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("web API", () => {
  it("serves the page and the status", async () => {
    station = await simulatedStation();
    const app = createApp(station);
    const page = await app.request("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Autofocus");
    const status = await (await app.request("/api/status")).json();
    expect(status).toMatchObject({ state: "idle", operation: null, positionUm: 0 });
  });

  it("runs an autofocus and reports it in the status", async () => {
    station = await simulatedStation({ microscope: { focusUm: 20 } });
    const app = createApp(station);
    const res = await app.request("/api/autofocus", post("/api/autofocus", { metric: "tenengrad" }));
    expect(res.status).toBe(200);
    const result = await res.json();
    expect(Math.abs(result.finalUm - 20)).toBeLessThan(3);
    expect(result.images).toBe(result.trace.length);
    const status = await (await app.request("/api/status")).json();
    expect(status.lastResult.finalUm).toBe(result.finalUm);
  });

  it("answers validation errors with 400 naming the field", async () => {
    station = await simulatedStation();
    const app = createApp(station);
    const bad = await app.request("/api/stage/move", post("/api/stage/move", { zUm: "up" }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toMatch(/zUm/);
    const notJson = await app.request("/api/autofocus", post("/api/autofocus", "{nope"));
    expect(notJson.status).toBe(400);
    const metric = await app.request("/api/autofocus", post("/api/autofocus", { metric: "sharpest" }));
    expect((await metric.json()).detail).toMatch(/metric/);
  });

  it("answers 409 while busy and cancel brings the station back to idle", async () => {
    station = await simulatedStation();
    const app = createApp(station);
    const running = app.request("/api/autofocus", post("/api/autofocus", {}));
    await new Promise((r) => setImmediate(r));
    const busy = await app.request("/api/stage/move", post("/api/stage/move", { zUm: 5 }));
    expect(busy.status).toBe(409);
    expect(await busy.json()).toMatchObject({ error: "busy", running: "autofocus" });
    const cancel = await app.request("/api/cancel", post("/api/cancel", {}));
    expect(await cancel.json()).toEqual({ cancelled: true });
    expect((await running).status).toBe(409);
    expect((await (await app.request("/api/status")).json()).state).toBe("idle");
  });

  it("refuses moves beyond the soft limits without moving", async () => {
    station = await simulatedStation();
    const app = createApp(station);
    const res = await app.request("/api/stage/move", post("/api/stage/move", { zUm: 10_000 }));
    expect(res.status).toBe(503);
    expect((await res.json()).detail).toMatch(/soft limits/);
    expect(station.status().positionUm).toBe(0);
  });

  it("serves a JPEG preview", async () => {
    station = await simulatedStation();
    const res = await createApp(station).request("/api/preview.jpg");
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(new Uint8Array(await res.arrayBuffer()).subarray(0, 2)).toEqual(new Uint8Array([0xff, 0xd8]));
  });
});
