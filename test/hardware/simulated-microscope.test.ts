import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { RealClock, VirtualClock } from "../../src/hardware/clock.js";
import { depthOfFieldUm, SimulatedMicroscope } from "../../src/hardware/simulated-microscope.js";
import { FocusStage } from "../../src/hardware/stage/focus-stage.js";

function microscope(overrides: { microscope?: object; camera?: object } = {}, clock: RealClock | VirtualClock = new VirtualClock()) {
  const config = configSchema.parse({ microscope: { focusUm: 12, ...overrides.microscope }, camera: { kind: "simulated", width: 128, height: 96, ...overrides.camera } });
  if (config.camera.kind !== "simulated" || config.stage.backend.kind !== "simulated") throw new Error("expected simulated config");
  return { scope: new SimulatedMicroscope({ objective: config.objective, microscope: config.microscope, camera: config.camera, stage: config.stage.backend, clock }), clock };
}

function gradientEnergy(data: ArrayLike<number>, w: number, h: number): number {
  let s = 0;
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) s += (data[y * w + x + 1] - data[y * w + x - 1]) ** 2 + (data[(y + 1) * w + x] - data[(y - 1) * w + x]) ** 2;
  return s;
}

describe("simulated microscope", () => {
  /** A virtual clock that declares itself real-time: the prefetch runs, and times stay exact. */
  class RealTimeVirtualClock extends VirtualClock {
    override readonly realTime = true;
  }

  it("renders a move's target frame on a real-time clock while the stage travels: the scene the next grab exposes", async () => {
    // Focus drifting 10 µm/s: the prefetch must aim at the settled stage's time, not the move's start (1 µm earlier).
    const { scope } = microscope({ microscope: { focusUm: 12, driftUmPerHour: 36_000 } }, new RealTimeVirtualClock());
    const stage = new FocusStage(scope.stage, { minUm: -500, maxUm: 500, backlashUm: 10 });
    const prefetched: number[] = [];
    const prefetch = scope.camera.prefetch.bind(scope.camera);
    scope.camera.prefetch = (scene) => {
      prefetched.push(scene.defocusUm);
      prefetch(scene);
    };
    await stage.moveTo(40);
    await stage.moveTo(20);
    const frame = await scope.camera.grab();
    // 40, then 20 twice: announced at the backlash waypoint 10 and again on the final leg.
    expect(prefetched).toHaveLength(3);
    expect(prefetched[1]).toBeCloseTo(prefetched[2], 9);
    // The exposure starts on the next 30-fps slot after settling: at most 33 ms (0.33 µm of drift) later.
    const exposed = scope.exposureDefocusUm(frame.timestampMs);
    expect(Math.abs(prefetched[2] - exposed)).toBeLessThan(0.34);
  });

  it("at the lower soft limit the overshoot is the move itself, and it settles", async () => {
    const clock = new VirtualClock();
    const { scope } = microscope({}, clock);
    const stage = new FocusStage(scope.stage, { minUm: 0, maxUm: 500, backlashUm: 10 });
    await stage.moveTo(36);
    const t0 = clock.nowMs();
    await stage.moveTo(0);
    expect(clock.nowMs() - t0).toBeCloseTo(2000 * Math.sqrt(36 / 20_000) + 20, 6);
  });

  it("does not prefetch on a virtual clock or with per-frame jitter (the next defocus is then unknown)", async () => {
    for (const [overrides, clock] of [[{}, new VirtualClock()], [{ microscope: { jitterUm: 0.5 } }, new RealClock()]] as const) {
      const { scope } = microscope(overrides, clock);
      let calls = 0;
      scope.camera.prefetch = () => calls++;
      await scope.stage.moveTo(5);
      expect(calls).toBe(0);
    }
  });

  it("is sharpest at the true focus, reached through FocusStage", async () => {
    const { scope } = microscope();
    const stage = new FocusStage(scope.stage, { minUm: -500, maxUm: 500, backlashUm: 10 });
    const energies: [number, number][] = [];
    for (const z of [0, 6, 10, 12, 14, 18, 24]) {
      await stage.moveTo(z);
      const frame = await scope.camera.grab();
      energies.push([z, gradientEnergy(frame.data, 128, 96)]);
    }
    const best = energies.reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(best[0]).toBe(12);
    expect(scope.trueFocusUm()).toBe(12);
    expect(scope.physicalZUm()).toBe(24);
  });

  it("grabs on the fps grid, exposure starting after the call", async () => {
    const { scope, clock } = microscope({ camera: { fps: 25, exposureUs: 5000 } });
    const a = await scope.camera.grab();
    expect(a.timestampMs).toBe(0);
    expect(clock.nowMs()).toBeCloseTo(5, 9);
    const b = await scope.camera.grab();
    expect(b.timestampMs).toBeCloseTo(40, 9);
    expect(b.data).toBeInstanceOf(Uint8Array);
    expect(scope.camera.info.pixelSizeUm).toBeCloseTo(0.345, 9);
  });

  it("drifts over (virtual) time and follows setPositionUm", async () => {
    const { scope, clock } = microscope({ microscope: { driftUmPerHour: 6 } });
    await clock.sleep(30 * 60 * 1000);
    expect(scope.trueFocusUm()).toBeCloseTo(15, 9);
    await scope.stage.setPositionUm(100);
    expect(scope.trueFocusUm()).toBeCloseTo(115, 9);
    expect(scope.defocusUm()).toBeCloseTo(-15, 9);
  });

  it("is deterministic for a seed (noise and focus jitter)", async () => {
    const grab = async (seed: number, jitterUm = 0) => {
      const { scope } = microscope({ microscope: { seed, jitterUm, sample: "beads" } });
      return [await scope.camera.grab(), await scope.camera.grab()].map((f) => f.data);
    };
    const [a1, a2] = await grab(3, 0.5);
    const [b1, b2] = await grab(3, 0.5);
    expect(a1).toEqual(b1);
    expect(a2).toEqual(b2);
    expect(a1).not.toEqual(a2);
    const [c1] = await grab(4);
    expect(c1).not.toEqual(a1);
  });

  it("changes sample, and exports the depth of field formula", async () => {
    const { scope } = microscope({ microscope: { focusUm: 0 } });
    const tissue = gradientEnergy((await scope.camera.grab()).data, 128, 96);
    scope.setSample("empty");
    const empty = gradientEnergy((await scope.camera.grab()).data, 128, 96);
    expect(tissue).toBeGreaterThan(20 * empty);
    // 10×/0.3, 3.45 µm pixels: 0.55/0.09 + 3.45/3 = 7.26 µm.
    expect(depthOfFieldUm({ magnification: 10, na: 0.3, immersionIndex: 1, wavelengthUm: 0.55 }, 3.45)).toBeCloseTo(7.261, 3);
  });
});
