import { afterEach, describe, expect, it } from "vitest";
import { appFor, post } from "../web/api.js";
import { TimelapseManager } from "../../src/timelapse/manager.js";
import { timelapseRig, virtualWallMs, type TimelapseRig } from "./rig.js";

let rig: TimelapseRig | undefined;
afterEach(async () => {
  await rig?.manager.close();
  await rig?.station.stop();
  rig = undefined;
});

describe("timelapse API", () => {
  it("creates, reports, serves the latest image, refuses a second job, and stops", async () => {
    rig = await timelapseRig();
    const app = appFor(rig.station, { timelapse: rig.manager });
    expect(await (await app.request("/api/timelapse")).json()).toMatchObject({ state: "idle" });
    expect((await app.request("/api/timelapse", post({ intervalMs: 1000, count: 3 }, null))).status).toBe(401);
    const bad = await app.request("/api/timelapse", post({ intervalMs: 1000, count: 3, autofocus: { policy: "magic" } }));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid request", detail: expect.stringMatching(/autofocus\.policy/) });

    const created = await app.request("/api/timelapse", post({ intervalMs: 60_000, count: 1000, name: "cells" }));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ state: "running", id: expect.stringMatching(/-cells$/), job: { total: 1000 } });
    expect((await app.request("/api/timelapse", post({ intervalMs: 1000, count: 3 }))).status).toBe(409);
    while (rig.manager.status().done < 3) await new Promise((r) => setTimeout(r, 5));

    const status = await (await app.request("/api/timelapse")).json();
    expect(status).toMatchObject({ state: "running", nextDueAt: expect.any(String) });
    expect(status.focus.length).toBeGreaterThanOrEqual(3);
    const png = await app.request(`/api/timelapse/files/${status.latest.files[0]}`);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect((await app.request("/api/timelapse/files/..%2Fjournal.jsonl")).status).toBe(404);
    expect((await app.request("/api/timelapse/files/t999999-p00.png")).status).toBe(404);

    const stopped = await app.request("/api/timelapse/stop", post());
    expect(await stopped.json()).toMatchObject({ state: "stopped", nextDueAt: null });
    expect(rig.station.state()).toBe("idle");
  });

  it("resumes an unfinished job when a new manager starts (restart), recording the gap as missed", async () => {
    rig = await timelapseRig();
    const { station, manager } = rig;
    await manager.create({ intervalMs: 1000, count: 30, autofocus: { policy: "none" } });
    while (manager.status().done < 5) await new Promise((r) => setTimeout(r, 1));
    await manager.close();
    const doneBefore = manager.status().done;
    await station.clock.sleep(5000);
    const again = new TimelapseManager(station, { nowMs: virtualWallMs(station) });
    await again.start();
    await again.settled();
    const s = again.status();
    expect(s).toMatchObject({ state: "finished", nextIndex: 30 });
    expect(s.done + s.missed).toBe(30);
    expect(s.done).toBeGreaterThan(doneBefore);
    expect(s.missedRanges[0].reason).toMatch(/focusbox was not running/);
  });
});
