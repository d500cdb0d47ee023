import { robustSd } from "./stats.js";

/** Planes whose score lies within this many noise SDs of the best one's read as sharp as it. */
const WITHIN_NOISE_SDS = 3;
/** Fewer planes than this give no noise estimate: the best plane is the answer. */
const MIN_PLANES_FOR_NOISE = 5;

/** The plane of a z-stack that its scores rate sharpest, and how many planes read as sharp within the scores' noise. */
export interface SharpestPlane {
  zUm: number;
  /** Planes, contiguous in z around the best-scoring one, whose scores are within the noise of its score (1: a clear peak). */
  planesWithinNoise: number;
}

/**
 * The plane a stack's scores rate sharpest: the middle (by z) of the contiguous run of planes
 * around the best-scoring one whose scores lie within WITHIN_NOISE_SDS noise SDs of the best (a
 * single plane above that, a noise spike, does not end the run),
 * the noise SD estimated from the scores' second differences along z (1.4826 · MAD / √6, as for
 * white noise). A metric that is flat within a DOF or so of focus — DeepFocus's blur estimate at
 * its floor, or a periodic sample's curve — has its best plane anywhere on that flat stretch by
 * chance (2–15 µm off focus on simulated 10×/NA 0.3 stacks, docs/benchmarks.md), while its middle
 * is focus; a clear peak (Tenengrad's) is a run of one plane. Planes without a finite score are
 * skipped.
 * @returns null when no plane has a score or every plane scores the same (an empty or saturated field).
 */
export function sharpestPlane(planes: readonly { zUm: number; score: number }[], higherIsSharper: boolean): SharpestPlane | null {
  const sign = higherIsSharper ? 1 : -1;
  const scored = planes.filter((p) => Number.isFinite(p.score)).sort((a, b) => a.zUm - b.zUm);
  const s = scored.map((p) => sign * p.score);
  if (s.length === 0 || Math.max(...s) === Math.min(...s)) return null;
  const best = s.indexOf(Math.max(...s));
  if (s.length < MIN_PLANES_FOR_NOISE) return { zUm: scored[best].zUm, planesWithinNoise: 1 };
  const d2 = s.slice(2).map((v, i) => v - 2 * s[i + 1] + s[i]);
  const noiseSd = robustSd(d2) / Math.sqrt(6);
  const floor = s[best] - WITHIN_NOISE_SDS * noiseSd;
  // The run steps over one plane above the floor (a noise spike), not two.
  const reach = (from: number, step: number): number => {
    let i = from;
    while (s[i + step] >= floor || (s[i + step] !== undefined && s[i + 2 * step] >= floor)) i += s[i + step] >= floor ? step : 2 * step;
    return i;
  };
  const [lo, hi] = [reach(best, -1), reach(best, 1)];
  const middleUm = (scored[lo].zUm + scored[hi].zUm) / 2;
  const nearest = scored.slice(lo, hi + 1).reduce((a, b) => (Math.abs(b.zUm - middleUm) < Math.abs(a.zUm - middleUm) ? b : a));
  return { zUm: nearest.zUm, planesWithinNoise: hi - lo + 1 };
}
