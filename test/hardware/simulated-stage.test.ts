import { describe, expect, it } from "vitest";
import { CanceledError } from "../../src/errors.js";
import { RealClock, VirtualClock } from "../../src/hardware/clock.js";
import { FocusStage } from "../../src/hardware/stage/focus-stage.js";
import { SimulatedStage, trapezoid } from "../../src/hardware/stage/simulated.js";

const config = { kind: "simulated" as const, stepsPerUm: 4, maxSpeedUmPerS: 2000, accelUmPerS2: 20_000, settleMs: 20, slackUm: 3 };

describe("simulated stage", () => {
  it("takes the trapezoidal / triangular move time plus settling", async () => {
    const clock = new VirtualClock();
    const stage = new SimulatedStage(config, clock);
    await stage.moveTo(1000);
    // 100 ms ramps covering 200 µm, 800 µm cruise at 2000 µm/s = 400 ms, 20 ms settle.
    expect(clock.nowMs()).toBeCloseTo(620, 6);
    await stage.moveTo(950);
    // Triangular: 2·√(50 / 20000) s = 100 ms.
    expect(clock.nowMs() - 620).toBeCloseTo(120, 6);
    expect(trapezoid(1000, 2000, 20_000).travelUm(300)).toBeCloseTo(500, 9);
  });

  it("skips the settle time at a waypoint, and announces each move's rest position and time as it starts", async () => {
    const clock = new VirtualClock();
    const moves: { physicalUm: number; settledAtMs: number }[] = [];
    const stage = new SimulatedStage(config, clock, (m) => moves.push(m));
    await stage.moveTo(50, undefined, { waypointToUm: 60 });
    // Triangular: 2·√(50 / 20000) s = 100 ms, no settle.
    expect(clock.nowMs()).toBeCloseTo(100, 6);
    await stage.moveTo(0);
    expect(clock.nowMs()).toBeCloseTo(220, 6);
    expect(moves).toEqual([
      // A waypoint announces the end of the whole move: 10 µm on to 60 (44.7 ms), settled.
      { physicalUm: 60, settledAtMs: expect.closeTo(100 + 2000 * Math.sqrt(10 / 20_000) + 20, 6) },
      // Downward: the carriage stays the slack above the motor.
      { physicalUm: 3, settledAtMs: expect.closeTo(220, 6) },
    ]);
    expect(stage.physicalUm()).toBeCloseTo(3, 9);
  });

  it("under FocusStage, settles once per downward move: at the target, not at the backlash overshoot", async () => {
    const clock = new VirtualClock();
    const stage = new FocusStage(new SimulatedStage(config, clock), { minUm: -500, maxUm: 500, backlashUm: 10 });
    await stage.moveTo(36);
    const t0 = clock.nowMs();
    await stage.moveTo(0);
    // Down 46 µm (triangular, no settle), then up 10 µm and settle.
    expect(clock.nowMs() - t0).toBeCloseTo(2000 * Math.sqrt(46 / 20_000) + 2000 * Math.sqrt(10 / 20_000) + 20, 6);
    expect(stage.positionUm()).toBe(0);
  });

  it("quantises targets to whole steps", async () => {
    const stage = new SimulatedStage(config, new VirtualClock());
    await stage.moveTo(10.13);
    expect(stage.positionUm()).toBe(10.25);
    expect(stage.info.resolutionUm).toBe(0.25);
  });

  it("has slack: the same target from above and below differs by slackUm physically", async () => {
    const stage = new SimulatedStage(config, new VirtualClock());
    await stage.moveTo(100);
    const fromBelow = stage.physicalUm();
    await stage.moveTo(200);
    await stage.moveTo(100);
    expect(stage.positionUm()).toBe(100);
    expect(stage.physicalUm() - fromBelow).toBeCloseTo(3, 9);
    // Reversing by less than the slack does not move the focus at all.
    await stage.moveTo(102);
    expect(stage.physicalUm()).toBeCloseTo(103, 9);
    await stage.moveTo(110);
    expect(stage.physicalUm()).toBeCloseTo(110, 9);
  });

  it("redefines its coordinate without moving", async () => {
    const stage = new SimulatedStage(config, new VirtualClock());
    await stage.moveTo(50);
    const physical = stage.physicalUm();
    await stage.setPositionUm(0);
    expect(stage.positionUm()).toBe(0);
    expect(stage.physicalUm() - physical).toBeCloseTo(-50, 9);
  });

  it("stops mid-move on abort or halt, where elapsed time and braking put it", async () => {
    // 200 µm at 1000 µm/s, 10 000 µm/s²: 0.3 s; at 150 ms it is at 100 µm at full speed, braking adds 50 µm.
    const slow = { ...config, maxSpeedUmPerS: 1000, accelUmPerS2: 10_000 };
    for (const how of ["abort", "halt"] as const) {
      const stage = new SimulatedStage(slow, new RealClock());
      const controller = new AbortController();
      const move = stage.moveTo(200, controller.signal);
      await new Promise((r) => setTimeout(r, 150));
      if (how === "abort") controller.abort();
      else await stage.halt();
      await expect(move).rejects.toBeInstanceOf(CanceledError);
      expect(stage.positionUm()).toBeGreaterThan(110);
      expect(stage.positionUm()).toBeLessThan(195);
    }
  });
});

describe("simulated stage slack (property)", () => {
  it("keeps the carriage within [motor, motor + slack], engaged after any upward move of at least the slack", async () => {
    const fc = await import("fast-check");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -400, max: 400 }), { minLength: 1, maxLength: 12 }), async (targets) => {
        const stage = new SimulatedStage(config, new VirtualClock());
        for (const t of targets) {
          const before = stage.positionUm();
          await stage.moveTo(t / 4);
          const gap = stage.physicalUm() - stage.positionUm();
          expect(gap).toBeGreaterThanOrEqual(-1e-9);
          expect(gap).toBeLessThanOrEqual(config.slackUm + 1e-9);
          if (stage.positionUm() - before >= config.slackUm) expect(gap).toBeCloseTo(0, 9);
        }
      }),
      { numRuns: 50 },
    );
  });
});
