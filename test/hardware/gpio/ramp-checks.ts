import { expect } from "vitest";
import type { RampLimits } from "../../../src/hardware/stage/step-plan.js";

/**
 * Checks a sequence of step times (µs, one per emitted step, plus the end of motion) against the
 * limits (a sequence starting at rest unless `fromRest` is false): no step interval faster than the maximum speed; speeds measured over windows of `w`
 * steps change no faster than the acceleration (5 % slack for µs rounding); and the speed at
 * step i is reachable from rest within i + 1 steps, and to rest within the steps left.
 */
export function expectWithinLimits(timesUs: number[], limits: RampLimits, { w = 16, fromRest = true } = {}): void {
  const intervals = timesUs.slice(1).map((t, i) => t - timesUs[i]);
  const minUs = Math.min(...intervals);
  expect(1e6 / minUs).toBeLessThanOrEqual(limits.maxStepsPerS * (1 + 1e-9));
  const n = intervals.length;
  const tooFast = intervals.flatMap((us, i) => {
    const v = 1e6 / us;
    const bound = Math.min(fromRest ? Math.sqrt(2 * limits.accelStepsPerS2 * (i + 1)) : Infinity, Math.sqrt(2 * limits.accelStepsPerS2 * (n - i)));
    return v > bound * 1.02 + 1 ? [{ step: i, stepsPerS: v, bound }] : [];
  });
  expect(tooFast).toEqual([]);
  const windows: { v: number; tS: number }[] = [];
  for (let i = 0; i + w < timesUs.length; i += w) windows.push({ v: (w * 1e6) / (timesUs[i + w] - timesUs[i]), tS: (timesUs[i + w] + timesUs[i]) / 2e6 });
  const accels = windows.slice(1).map((win, i) => Math.abs(win.v - windows[i].v) / (win.tS - windows[i].tS));
  expect(Math.max(0, ...accels)).toBeLessThanOrEqual(limits.accelStepsPerS2 * 1.05);
}

/** Absolute step times from a plan's intervals: step i at times[i], end of motion at times[n]. */
export function timesFromIntervals(intervals: ArrayLike<number>, startUs = 0): number[] {
  const times = [startUs];
  for (let i = 0; i < intervals.length; i++) times.push(times[i] + intervals[i]);
  return times;
}
