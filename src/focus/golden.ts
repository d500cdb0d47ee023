import { received, type SearchGenerator } from "./search.js";

/** 2 − φ ≈ 0.382: the golden-section fraction of an interval. */
export const GOLDEN_FRACTION = (3 - Math.sqrt(5)) / 2;
/** φ ≈ 1.618: expansion ratio when the bracket does not yet enclose the optimum. */
export const GOLDEN_RATIO = (1 + Math.sqrt(5)) / 2;

/** Whether the search looks for the largest ("max") or smallest ("min") score. */
export type Sense = "max" | "min";

/**
 * Three evaluated points a < b < c (µm) and their scores. Unknown end scores may be set to
 * the worst value (−Infinity for "max", +Infinity for "min").
 */
export interface GoldenBracket {
  a: number;
  b: number;
  c: number;
  fa: number;
  fb: number;
  fc: number;
}

const better = (x: number, y: number, sense: Sense): boolean => (sense === "max" ? x > y : x < y);

/** True when the middle point scores at least as well as both ends (the optimum lies in [a, c]). */
export function isBracketing(br: GoldenBracket, sense: Sense = "max"): boolean {
  return !better(br.fa, br.fb, sense) && !better(br.fc, br.fb, sense);
}

/**
 * Next point of a golden-section search. When the bracket encloses the optimum: the point at
 * the golden fraction into the larger of [a, b] and [b, c]. Otherwise (an end scores better
 * than the middle) it expands past the better end by φ times the adjacent interval
 * (Numerical Recipes' `mnbrak`); the caller clamps that point to its travel limits if needed.
 */
export function goldenStep(br: GoldenBracket, sense: Sense = "max"): number {
  const { a, b, c } = br;
  if (!(a < b && b < c)) throw new RangeError(`golden bracket needs a < b < c, got ${a}, ${b}, ${c}`);
  if (isBracketing(br, sense)) return c - b >= b - a ? b + GOLDEN_FRACTION * (c - b) : b - GOLDEN_FRACTION * (b - a);
  return better(br.fa, br.fc, sense) ? a - GOLDEN_RATIO * (b - a) : c + GOLDEN_RATIO * (c - b);
}

/**
 * The bracket after evaluating `fz` at `z`: an interior point narrows it around the better of
 * b and z; a point beyond an end becomes the new end and the opposite end is dropped.
 * Returns a new object (pure).
 */
export function goldenUpdate(br: GoldenBracket, z: number, fz: number, sense: Sense = "max"): GoldenBracket {
  const { a, b, c, fa, fb, fc } = br;
  if (z < a) return { a: z, b: a, c: b, fa: fz, fb: fa, fc: fb };
  if (z > c) return { a: b, b: c, c: z, fa: fb, fb: fc, fc: fz };
  const zBetter = better(fz, fb, sense);
  if (z > b) return zBetter ? { a: b, b: z, c, fa: fb, fb: fz, fc } : { a, b, c: z, fa, fb, fc: fz };
  if (z < b) return zBetter ? { a, b: z, c: b, fa, fb: fz, fc: fb } : { a: z, b, c, fa: fz, fb, fc };
  return br;
}

export interface GoldenOptions {
  /** Stop when the best point is within this distance of both bracket ends (µm). */
  toleranceUm: number;
  /** Evaluations allowed (≥ 1). */
  maxEvaluations: number;
  sense?: Sense;
}

export interface GoldenResult {
  /** Best point evaluated and its score. */
  x: number;
  fx: number;
  evaluations: number;
  converged: boolean;
  bracket: GoldenBracket;
}

/**
 * Classic golden-section search on [lo, hi] (the ends are not evaluated): yields z values to
 * evaluate, expects each one's score back. After the first two evaluations every step shrinks
 * the bracket by 1/φ ≈ 0.618. Assumes a unimodal score on [lo, hi].
 */
export function* goldenSectionSearch(lo: number, hi: number, opts: GoldenOptions): SearchGenerator<GoldenResult> {
  if (!(hi > lo)) throw new RangeError(`goldenSectionSearch needs lo < hi, got [${lo}, ${hi}]`);
  const sense = opts.sense ?? "max";
  const worst = sense === "max" ? -Infinity : Infinity;
  const b = lo + GOLDEN_FRACTION * (hi - lo);
  let br: GoldenBracket = { a: lo, b, c: hi, fa: worst, fb: received(yield b), fc: worst };
  let evaluations = 1;
  for (;;) {
    const converged = Math.max(br.b - br.a, br.c - br.b) <= opts.toleranceUm;
    if (converged || evaluations >= opts.maxEvaluations) return { x: br.b, fx: br.fb, evaluations, converged, bracket: br };
    const z = goldenStep(br, sense);
    br = goldenUpdate(br, z, received(yield z), sense);
    evaluations++;
  }
}
