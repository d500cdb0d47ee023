import { afterEach, describe, expect, it } from "vitest";
import type { Station } from "../../src/station/station.js";
import { simulatedStation } from "../helpers.js";
import { appFor, post, TOKEN } from "./api.js";

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

/** Every mutating route with a valid body. */
const MUTATING: [string, unknown][] = [
  ["/api/autofocus", {}],
  ["/api/cancel", {}],
  ["/api/calibrate", { halfRangeUm: 2, stepUm: 1 }],
  ["/api/capture", {}],
  ["/api/stack", { fromUm: -1, toUm: 1, stepUm: 1, relative: true }],
  ["/api/stage/move", { zUm: 1 }],
  ["/api/stage/zero", {}],
];

describe("web API: page, status, operations", () => {
  it("serves the page, its assets within the size budget, and the status", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    const page = await app.request("/");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Autofocus");
    let bytes = html.length;
    for (const src of html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)) {
      const res = await app.request(src[1]);
      expect(res.status, src[1]).toBe(200);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    expect(bytes).toBeLessThan(90_000);
    const status = await (await app.request("/api/status")).json();
    expect(status).toMatchObject({ state: "idle", operation: null, positionUm: 0, lastResult: null });
  });

  it("runs an autofocus, reports it in status, log and metrics", async () => {
    station = await simulatedStation({ microscope: { focusUm: 20 } });
    const app = appFor(station);
    const res = await app.request("/api/autofocus", post({ metric: "tenengrad" }));
    expect(res.status).toBe(200);
    const result = await res.json();
    expect(Math.abs(result.finalUm - 20)).toBeLessThan(3);
    expect(result.images).toBe(result.trace.length);
    const status = await (await app.request("/api/status")).json();
    expect(status.lastResult.finalUm).toBe(result.finalUm);
    const log = await (await app.request("/api/log")).json();
    expect(log.operations).toMatchObject([{ seq: 1, operation: "autofocus", outcome: "done" }]);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('focusbox_autofocus_total{outcome="done"} 1');
    expect(metrics).toContain(`focusbox_last_autofocus_images ${result.images}`);
    expect(metrics).toMatch(/focusbox_last_autofocus_duration_seconds \d/);
    expect(metrics).toContain(`focusbox_z_um ${station.status().positionUm}`);
    expect(metrics).toContain("focusbox_errors_total 0");
  });

  it("lists methods and profiles", async () => {
    station = await simulatedStation({}, { autofocusMethods: { deepfocus: async () => Promise.reject(new Error("unused")) } });
    const body = await (await appFor(station).request("/api/methods")).json();
    expect(body.methods).toEqual(expect.arrayContaining(["deepfocus", "tenengrad", "vollath"]));
    expect(body).toMatchObject({ profiles: [], defaults: { metric: "tenengrad", strategy: "brent" } });
  });

  it("runs an autofocus by any classical method /api/methods lists, and refuses a method that disagrees with its metric", async () => {
    station = await simulatedStation({ microscope: { focusUm: -15 } });
    const app = appFor(station);
    const { methods } = await (await app.request("/api/methods")).json();
    expect(methods).toContain("vollath");
    const res = await app.request("/api/autofocus", post({ method: "vollath" }));
    expect(res.status).toBe(200);
    const result = await res.json();
    expect(result.method).toBe("vollath+brent");
    expect(Math.abs(result.finalUm + 15)).toBeLessThan(3);
    const clash = await app.request("/api/autofocus", post({ method: "vollath", metric: "tenengrad" }));
    expect(clash.status).toBe(400);
    expect(await clash.json()).toMatchObject({ detail: expect.stringMatching(/disagree/) });
  });

  it("moves, jogs and sets zero", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    expect(await (await app.request("/api/stage/move", post({ zUm: 12.5 }))).json()).toEqual({ positionUm: 12.5 });
    expect(await (await app.request("/api/stage/move", post({ zUm: -10, relative: true }))).json()).toEqual({ positionUm: 2.5 });
    expect(await (await app.request("/api/stage/zero", post())).json()).toEqual({ positionUm: 0 });
    expect(station.status().positionUm).toBe(0);
  });

  it("refuses moves beyond the soft limits without moving and reports the error state until acknowledged", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    const res = await app.request("/api/stage/move", post({ zUm: 10_000 }));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "device error", detail: expect.stringMatching(/soft limits/) });
    expect(station.status()).toMatchObject({ positionUm: 0, state: "error" });
    expect(await (await app.request("/metrics")).text()).toContain("focusbox_errors_total 1");
    expect(await (await app.request("/api/cancel", post())).json()).toMatchObject({ cancelled: false, state: "idle" });
  });
});

describe("web API: security", () => {
  it("requires the token on every mutating route (401 without and with a wrong one)", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    for (const [path, body] of MUTATING) {
      for (const token of [null, "wrong-token"]) {
        const res = await app.request(path, post(body, token));
        expect(res.status, `${path} with ${token}`).toBe(401);
        expect(await res.json()).toMatchObject({ error: "unauthorized" });
      }
      const viaQuery = await app.request(`${path}?token=${TOKEN}`, post(body, null));
      expect(viaQuery.status, `${path} with ?token`).toBe(401);
    }
    expect(station.status().positionUm).toBe(0);
    expect(station.log()).toEqual([]);
  });

  it("accepts the token as Bearer or X-Focusbox-Token", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    expect((await app.request("/api/stage/move", post({ zUm: 1 }))).status).toBe(200);
    const header = await app.request("/api/stage/move", { method: "POST", headers: { "x-focusbox-token": TOKEN }, body: JSON.stringify({ zUm: 2 }) });
    expect(header.status).toBe(200);
  });

  it("keeps read-only routes private without publicStatus (the page itself stays public)", async () => {
    station = await simulatedStation();
    const app = appFor(station, { publicStatus: false });
    for (const path of ["/api/status", "/api/log", "/api/captures", "/api/preview.jpg", "/metrics"]) expect((await app.request(path)).status, path).toBe(401);
    expect((await app.request("/api/status", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await app.request(`/api/status?token=${TOKEN}`)).status).toBe(200);
    expect((await app.request("/")).status).toBe(200);
  });
});

describe("web API: validation", () => {
  it("answers 400 naming the field", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    const cases: [string, unknown, RegExp][] = [
      ["/api/stage/move", { zUm: "up" }, /zUm/],
      ["/api/stage/move", {}, /zUm/],
      ["/api/stage/move", { zUm: 1, relative: "yes" }, /relative/],
      ["/api/autofocus", { metric: "sharpest" }, /metric/],
      ["/api/autofocus", { strategy: "random" }, /strategy/],
      ["/api/autofocus", { method: "magic" }, /method/],
      ["/api/autofocus", { profile: "../../etc/passwd" }, /profile/],
      ["/api/calibrate", { stepUm: -1 }, /stepUm/],
      ["/api/capture", { note: 5 }, /note/],
      ["/api/stack", { fromUm: 0, toUm: 1 }, /stepUm/],
      ["/api/stack", { fromUm: 1, toUm: 0, stepUm: 1 }, /--to must be above --from|toUm/],
      ["/api/autofocus", "{nope", /JSON/],
      ["/api/stage/zero", { zUm: 3 }, /zUm/],
    ];
    for (const [path, body, field] of cases) {
      const res = await app.request(path, post(body));
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      const json = await res.json();
      expect(json.error).toBe("invalid request");
      expect(json.detail, path).toMatch(field);
    }
    expect(station.log().filter((e) => e.outcome === "done")).toEqual([]);
  });
});

describe("web API: one operation at a time", () => {
  it("answers 409 naming what is running, and cancel brings the station back to idle", async () => {
    station = await simulatedStation();
    const app = appFor(station);
    const running = app.request("/api/autofocus", post());
    await new Promise((r) => setImmediate(r));
    expect(station.status()).toMatchObject({ state: "busy", operation: "autofocus" });
    for (const [path, body] of MUTATING.filter(([p]) => p !== "/api/cancel")) {
      const busy = await app.request(path, post(body));
      expect(busy.status, path).toBe(409);
      expect(await busy.json()).toMatchObject({ error: "busy", running: "autofocus", detail: "busy: autofocus is running" });
    }
    const cancel = await app.request("/api/cancel", post());
    expect(await cancel.json()).toEqual({ cancelled: true, operation: "autofocus", state: "idle" });
    const cancelled = await running;
    expect(cancelled.status).toBe(409);
    expect((await cancelled.json()).error).toBe("cancelled");
    expect((await (await app.request("/api/status")).json()).state).toBe("idle");
    expect(station.log().map((e) => e.outcome)).toEqual(["cancelled"]);
    expect((await app.request("/api/stage/move", post({ zUm: 1 }))).status).toBe(200);
  });
});
