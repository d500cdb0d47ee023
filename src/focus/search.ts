/**
 * Searches are generators so that the caller owns the evaluations (moving a stage, grabbing
 * a frame): each `yield` hands out the next z (µm) to evaluate, and `gen.next(score)` sends
 * the score measured there back. The generator's return value is its result.
 */
export type SearchGenerator<R> = Generator<number, R, number>;

/** Runs a search generator to completion with an (async) evaluator and returns its result. */
export async function runSearch<R>(gen: SearchGenerator<R>, evaluate: (zUm: number) => number | Promise<number>): Promise<R> {
  let step = gen.next(NaN);
  while (!step.done) step = gen.next(await evaluate(step.value));
  return step.value;
}

/** `runSearch` with a synchronous evaluator (a computation, not a measurement). */
export function runSearchSync<R>(gen: SearchGenerator<R>, evaluate: (zUm: number) => number): R {
  let step = gen.next(NaN);
  while (!step.done) step = gen.next(evaluate(step.value));
  return step.value;
}

/** The score sent back into a search generator; rejects a forgotten `next(score)` argument. */
export function received(score: number | undefined): number {
  if (typeof score !== "number" || Number.isNaN(score)) throw new TypeError(`search generator expected a score, got ${score}`);
  return score;
}
