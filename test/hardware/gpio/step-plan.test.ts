import { describe, expect, it } from "vitest";
import { microstepsPerUm, minIntervalUs, planMove, planStop, rampLimits, StepCursor, stoppingSteps } from "../../../src/hardware/stage/step-plan.js";
import { expectWithinLimits, timesFromIntervals } from "./ramp-checks.js";

const motion = { stepsPerUm: 2, microsteps: 16, invert: false, maxSpeedUmPerS: 200, accelUmPerS2: 2000, settleMs: 0 };
const limits = rampLimits(motion);

describe("step plan", () => {
  it("converts µm to microsteps and limits to steps/s", () => {
    expect(microstepsPerUm(motion)).toBe(32);
    expect(limits).toEqual({ maxStepsPerS: 6400, accelStepsPerS2: 64_000 });
    expect(minIntervalUs(limits)).toBe(157);
  });

  it.each([0, 1, 2, 3, 17, 320, 641, 3200, 32_000])("plans exactly %i steps within speed and acceleration", (steps) => {
    const plan = planMove(steps, limits);
    expect(plan.length).toBe(steps);
    if (steps > 1) expectWithinLimits(timesFromIntervals(plan), limits);
  });

  it("the ramp checker catches plans that are too fast or accelerate too hard", () => {
    const times = (l: typeof limits) => timesFromIntervals(planMove(3200, l));
    expect(() => expectWithinLimits(times({ ...limits, accelStepsPerS2: limits.accelStepsPerS2 * 1.3 }), limits)).toThrow();
    expect(() => expectWithinLimits(times({ ...limits, maxStepsPerS: limits.maxStepsPerS * 1.1 }), limits)).toThrow();
  });

  it("is trapezoidal for long moves and triangular for short ones", () => {
    const long = planMove(3200, limits);
    const cruise = Array.from(long).filter((us) => us === minIntervalUs(limits)).length;
    expect(cruise).toBeGreaterThan(3200 - 2 * 320 - 10);
    expect(long[0]).toBeGreaterThan(long[1]);
    expect(long[3199]).toBeGreaterThan(long[3198]);
    const short = planMove(200, limits);
    expect(Math.min(...short)).toBeGreaterThan(minIntervalUs(limits));
    const fastest = short.indexOf(Math.min(...short));
    expect(Math.abs(fastest - 100)).toBeLessThanOrEqual(2);
    const durationS = (n: number) => planMove(n, limits).reduce((s, us) => s + us, 0) / 1e6;
    // triangular: t = 2·sqrt(n/a)
    expect(durationS(200)).toBeCloseTo(2 * Math.sqrt(200 / limits.accelStepsPerS2), 3);
  });

  it("stops from a speed with a uniform deceleration no faster than the limit", () => {
    const stop = planStop(6400, limits);
    expect(stop.length).toBe(stoppingSteps(6400, limits));
    expect(stop.length).toBe(320);
    for (let i = 1; i < stop.length; i++) expect(stop[i]).toBeGreaterThanOrEqual(stop[i - 1] - 1); // ±1 µs rounding
    expect(1e6 / stop[0]).toBeLessThanOrEqual(6400);
    expectWithinLimits(timesFromIntervals(stop), limits, { fromRest: false });
  });

  it("cursor: stop() brakes from the current speed, halt() ends at once", () => {
    const cursor = new StepCursor(planMove(32_000, limits), limits);
    for (let i = 0; i < 5000; i++) cursor.next();
    cursor.stop();
    let extra = 0;
    while (cursor.next() !== undefined) extra++;
    const cruiseStepsPerS = 1e6 / minIntervalUs(limits);
    expect(extra).toBe(stoppingSteps(cruiseStepsPerS, limits));
    expect(cursor.taken).toBe(5000 + extra);

    const nearEnd = new StepCursor(planMove(1000, limits), limits);
    for (let i = 0; i < 990; i++) nearEnd.next();
    nearEnd.stop(); // already braking: the plan's own 10 last steps remain
    let rest = 0;
    while (nearEnd.next() !== undefined) rest++;
    expect(rest).toBe(10);

    const halted = new StepCursor(planMove(1000, limits), limits);
    halted.next();
    halted.halt();
    expect(halted.next()).toBeUndefined();
    expect(halted.taken).toBe(1);
  });
});
