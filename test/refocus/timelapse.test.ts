import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { configuredRefocus, type RefocusSource } from "../../src/refocus/index.js";
import { timelapseRig } from "../timelapse/rig.js";

let refocus: RefocusSource;
beforeAll(() => {
  refocus = configuredRefocus(parseConfig({}));
});
afterAll(() => refocus.close());

describe('timelapse policy "refocus"', () => {
  it("never moves the stage or takes autofocus images, and stores digitally refocused planes", async () => {
    const { station, manager } = await timelapseRig({ microscope: { focusUm: 6 } }, { refocus });
    try {
      await manager.create({ intervalMs: 1000, count: 3, autofocus: { policy: "refocus" } });
      await manager.settled();
      const s = manager.status();
      expect(s).toMatchObject({ state: "finished", done: 3, missed: 0, imagesPerPoint: 0 });
      expect(s.focus.map((f) => f.focusUm)).toEqual([0, 0, 0]);
      expect(station.status().positionUm).toBe(0);
      const sidecar = JSON.parse(await readFile(join(manager.dir, s.id!, "t000002-p00.json"), "utf8"));
      expect(sidecar).toMatchObject({ index: 2, width: 64, height: 48, bitDepth: 8, autofocus: { policy: "refocus", images: 0 }, refocus: { method: "net", tiles: 1 } });
    } finally {
      await manager.close();
      await station.stop();
    }
  });
});
