/**
 * Where a centred defocus curve (focus at z = 0, lower is sharper) still carries depth: how far
 * it keeps rising from focus, and whether it turns down again (a scorer whose window the blur
 * has outgrown). Used by the calibration to report its capture range and choose a binning.
 */

/** A rise smaller than this fraction of the curve's depth does not extend the reach. */
const CAPTURE_RISE_FRACTION = 0.02;

/**
 * How far from focus (µm) a centred curve still rises on each side: the last sample that is a
 * new maximum and lies more than CAPTURE_RISE_FRACTION of the curve's depth above the previous
 * reach point (so a slow steady rise, sampled finely, counts as rising).
 */
export function risingReachUm(curve: readonly { zUm: number; b: number }[]): { belowUm: number; aboveUm: number } {
  const bs = curve.map((p) => p.b);
  const tol = CAPTURE_RISE_FRACTION * (Math.max(...bs) - Math.min(...bs));
  const side = (points: readonly { zUm: number; b: number }[]): number => {
    let top = -Infinity;
    let reached = -Infinity;
    let reach = 0;
    for (const p of points) {
      if (p.b > top && p.b > reached + tol) {
        reach = Math.abs(p.zUm);
        reached = p.b;
      }
      top = Math.max(top, p.b);
    }
    return reach;
  };
  return { belowUm: side(curve.filter((p) => p.zUm <= 0).reverse()), aboveUm: side(curve.filter((p) => p.zUm >= 0)) };
}

/**
 * How far a centred curve falls back, walking away from focus on either side, below the
 * highest value it reached nearer focus — as a fraction of its depth (0: never falls back).
 */
export function turnDownFraction(curve: readonly { zUm: number; b: number }[]): number {
  const bs = curve.map((p) => p.b);
  const depth = Math.max(...bs) - Math.min(...bs);
  const side = (points: readonly { zUm: number; b: number }[]): number => {
    let top = -Infinity;
    let drop = 0;
    for (const p of points) {
      top = Math.max(top, p.b);
      drop = Math.max(drop, top - p.b);
    }
    return drop;
  };
  return depth > 0 ? Math.max(side(curve.filter((p) => p.zUm >= 0)), side(curve.filter((p) => p.zUm <= 0).reverse())) / depth : 0;
}
