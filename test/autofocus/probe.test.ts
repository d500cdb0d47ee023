import { afterEach, describe, expect, it } from "vitest";
import { probeAll } from "../../src/autofocus/probe.js";
import type { TracePoint } from "../../src/autofocus/types.js";
import type { FocusScorer } from "../../src/focus/types.js";
import { simulatedRig, type Rig } from "./rig.js";
import { syntheticB } from "./synthetic.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.devices.stop();
  rig = undefined;
});

/** The rig with its stage moves and scoring calls logged in order. */
async function loggedRig(failOnCall?: number): Promise<{ rig: Rig; log: string[]; scorer: FocusScorer }> {
  const r = await simulatedRig({}, { noise: 0 });
  const log: string[] = [];
  const stage = r.ctx.stage;
  const moveTo = stage.moveTo.bind(stage);
  stage.moveTo = async (zUm, signal, compensate) => {
    log.push(`move ${zUm} start`);
    await moveTo(zUm, signal, compensate);
    log.push(`move ${zUm} end`);
  };
  let calls = 0;
  const scorer: FocusScorer = {
    id: r.scorer.id,
    higherIsSharper: false,
    score: async (frame, roi) => {
      if (++calls === failOnCall) throw new Error("scorer failed");
      const s = await r.scorer.score(frame, roi);
      log.push(`score ${calls}`);
      return s;
    },
  };
  return { rig: r, log, scorer };
}

describe("probeAll: images at known positions, scored while the stage moves on", () => {
  it("scores each frame while the stage travels to the next position, trace in acquisition order", async () => {
    const l = await loggedRig();
    rig = l.rig;
    const trace: TracePoint[] = [];
    const points = await probeAll({ ...rig.ctx, scorer: l.scorer }, trace, 0, [0, -20, 20]);
    expect(points.map((p) => p.zUm)).toEqual([0, -20, 20]);
    expect(trace).toEqual(points);
    const at = (entry: string) => l.log.indexOf(entry);
    expect(at("score 1")).toBeGreaterThan(at("move -20 start"));
    expect(at("score 1")).toBeLessThan(at("move -20 end"));
    expect(at("score 2")).toBeLessThan(at("move 20 end"));
    // Each score is its own frame's (the defocus at its exposure), not the stage's when scored.
    for (const p of points) expect(Math.abs(p.score - syntheticB(p.zUm - rig.microscope.trueFocusUm()))).toBeLessThan(0.05);
  });

  it("a scoring failure stops the acquisition: nothing left running, the points scored before it kept", async () => {
    const l = await loggedRig(2);
    rig = l.rig;
    const trace: TracePoint[] = [];
    await expect(probeAll({ ...rig.ctx, scorer: l.scorer }, trace, 0, [0, 10, 20, 30, 40])).rejects.toThrow("scorer failed");
    expect(trace.map((p) => p.zUm)).toEqual([0]);
    const moves = l.log.filter((e) => e.endsWith("start"));
    expect(moves.length).toBeLessThanOrEqual(3);
    expect(l.log.at(-1)).toMatch(/end$|score/);
    const here = rig.devices.stage.positionUm();
    await rig.devices.stage.moveTo(here + 5);
    expect(rig.devices.stage.positionUm()).toBeCloseTo(here + 5, 6);
  });
});
