import { detailCorrelation, splitDetailCorrelation, thumbDetail, type SplitThumbs } from "../focus/blur-match.js";
import { peakPowerFraction } from "../focus/periodicity.js";
import { dot } from "../focus/stats.js";
import { imageBudget } from "./bracket.js";
import { DEFAULT_REFINE_TOLERANCE_UM } from "./refine.js";
import { imagesWhere, inFocusScore, settleUnconfirmed, type DeepFocusResult, type DeepFocusRun } from "./deepfocus.js";
import { probe } from "./probe.js";
import { crossCheckSharpest } from "./cross-check.js";
import type { TracePoint } from "./types.js";

/** Two images of a run that show the same structure with inverted contrast (`contrastInversion`), `lo` below `hi`. */
export interface ContrastInversion {
  lo: TracePoint;
  hi: TracePoint;
  correlation: number;
}

/**
 * Detail correlation (`detailCorrelation`) at or below which two images show one structure with
 * inverted contrast. Simulated unstained cells at ±d about focus: −0.84 to −0.91 for d = 2–8 µm,
 * −0.79 at 32 µm (condenser σ 0.3; docs/benchmarks.md, "Unstained cells in bright field: contrast
 * inversion").
 */
const INVERTED_CORRELATION = -0.5;

/**
 * Each image of an inverted pair is rated by the cross-check metric at least 1 / FLANK_RATIO as
 * sharp as the run's sharpest image. A phase sample's contrast peaks about equally either side of
 * focus, and the pair lies on those flanks; a periodic sample's reversal lies beside its far
 * sharper focus (the mesh: Tenengrad 0.018 at −19.5 µm, 1.07 at focus).
 */
const FLANK_RATIO = 4;

/** The method name a focus set by contrast inversion carries in `fallback.metric`. */
export const CONTRAST_SIGN = "contrast-sign";

/**
 * Two images of the run whose details anti-correlate (INVERTED_CORRELATION), at most one FWHM
 * apart (FWHM / 4 when one is featureless), both read by DeepFocus as in focus (within
 * NOT_SHARP_FLOOR_RATIO × the calibration curve's floor) or featureless, and both rated by the
 * cross-check metric at least 1 / FLANK_RATIO as sharp as the run's sharpest image — the
 * nearest such pair; else null (also without a cross-check).
 * An absorbing sample's images either side of focus are alike (a symmetric blur), so its images
 * near focus all correlate positively (the held-out diatoms, pollen and USAF chart: 0.38 or more
 * within ±40 µm of focus). An unstained cell in bright field is a phase object: its contrast grows with defocus on
 * either side of focus with opposite signs (a dark rim one side, a bright one the other), so
 * images either side anti-correlate and focus lies between them, where the sample shows least
 * detail. A periodic sample's contrast reverses too, where the blur's transfer function changes
 * sign a few DOF out (a Born–Wolf mesh at 10×/NA 0.3: −5.5 and −19.5 µm from focus correlate
 * −0.93), but beside its far sharper focus: the FLANK_RATIO condition keeps it out. A phase
 * sample is featureless far out too, where the condenser's partial coherence has washed its
 * contrast out, and such an image can anti-correlate with one near focus on the same side (the
 * simulator's unstained cells: −72.5 and −2.7 µm, −0.70; a faint absorption moves the sign
 * change of coarse detail several µm off focus): a featureless image pairs only with one
 * within FWHM / 4, where `mirrorProbe` images beside it.
 */
export function contrastInversion(run: DeepFocusRun): ContrastInversion | null {
  const inFocusB = inFocusScore(run);
  const nearUm = run.profile.fwhmUm;
  const sharpest = crossCheckSharpest(run.trace.filter((p) => p.sharpness! > 0));
  if (!sharpest) return null;
  const candidates = run.trace
    .filter((p) => run.thumbs.has(p) && !(p.score > inFocusB) && p.sharpness! * FLANK_RATIO >= sharpest.sharpness!)
    .sort((a, b) => a.zUm - b.zUm);
  let best: ContrastInversion | null = null;
  for (let i = 0; i < candidates.length; i++)
    for (let j = i + 1; j < candidates.length && candidates[j].zUm - candidates[i].zUm <= nearUm; j++) {
      const [lo, hi] = [candidates[i], candidates[j]];
      if (hi.zUm === lo.zUm || (!(Number.isFinite(lo.score) && Number.isFinite(hi.score)) && hi.zUm - lo.zUm > run.profile.fwhmUm / 4)) continue;
      const correlation = invertedCorrelation(run, lo, hi);
      if (correlation <= INVERTED_CORRELATION && (!best || hi.zUm - lo.zUm < best.hi.zUm - best.lo.zUm)) best = { lo, hi, correlation };
    }
  return best;
}

/**
 * Gaussian σ (px of the `splitThumbs` halves) of the background the fine signed contrast leaves
 * out (1.4 µm at 10× with 3.45-µm camera pixels).
 */
const FINE_DETAIL_SIGMA_PX = 2;

/**
 * The correlation of two images' details: the thumbnails' (`detailCorrelation`), or where that
 * is above INVERTED_CORRELATION, their fine details' (`splitDetailCorrelation`, σ
 * FINE_DETAIL_SIGMA_PX) when those reach it and the sample is not periodic (`periodicSample`).
 * A faint absorption moves the sign change of coarse structure several
 * µm off a phase sample's focus (see `inversionFocus`), so a pair either side of focus can lie
 * on one side of it; the finest structure changes sign within a fraction of a µm.
 */
function invertedCorrelation(run: DeepFocusRun, lo: TracePoint, hi: TracePoint): number {
  const coarse = detailCorrelation(run.thumbs.get(lo)!, run.thumbs.get(hi)!);
  const [fineLo, fineHi] = [run.fineThumbs.get(lo), run.fineThumbs.get(hi)];
  if (coarse <= INVERTED_CORRELATION || !fineLo || !fineHi) return coarse;
  const fine = fineCorrelation(fineLo, fineHi);
  return fine <= INVERTED_CORRELATION && !periodicSample(run) ? fine : coarse;
}

/** `splitDetailCorrelation` (σ FINE_DETAIL_SIGMA_PX) of pairs of images, by their lower image's and upper image's split thumbnails. */
const fineCorrelations = new WeakMap<SplitThumbs, WeakMap<SplitThumbs, number>>();

/** The fine details' correlation of two images (`splitDetailCorrelation`), computed once per pair: each check of the run asks again. */
function fineCorrelation(lo: SplitThumbs, hi: SplitThumbs): number {
  let byHi = fineCorrelations.get(lo);
  if (!byHi) fineCorrelations.set(lo, (byHi = new WeakMap()));
  let correlation = byHi.get(hi);
  if (correlation === undefined) byHi.set(hi, (correlation = splitDetailCorrelation(lo, hi, FINE_DETAIL_SIGMA_PX)));
  return correlation;
}

/**
 * Makes the fine details (`thumbDetail`, σ FINE_DETAIL_SIGMA_PX) of an image as soon as it is
 * scored, when `contrastInversion` may pair it: DeepFocus reads it in focus (or featureless) and
 * an earlier such image lies within one FWHM (whose details are made too, if not yet). An image
 * scored within a batch (`probeAll`) is scored while the stage moves on, so their 2–3 ms a half
 * (256 × 192 px) hides behind the move instead of adding to the next check's.
 */
export function prepareFineDetail(run: DeepFocusRun, point: TracePoint): void {
  const inFocusB = inFocusScore(run);
  const candidate = (p: TracePoint): boolean => run.fineThumbs.has(p) && !(p.score > inFocusB);
  if (!candidate(point)) return;
  const partners = run.trace.filter((p) => candidate(p) && p.zUm !== point.zUm && Math.abs(p.zUm - point.zUm) <= run.profile.fwhmUm);
  if (partners.length === 0) return;
  for (const p of [point, ...partners]) for (const half of run.fineThumbs.get(p)!) thumbDetail(half, FINE_DETAIL_SIGMA_PX);
}

/**
 * `peakPowerFraction` of an image's fine detail at or above which the sample is periodic: half
 * its detail power in 0.5 % of the spatial frequencies.
 */
const PERIODIC_PEAK_POWER = 0.5;

/** `peakPowerFraction` of each image's fine detail (one half of its `splitThumbs`), made once. */
const finePeakPower = new WeakMap<SplitThumbs, number>();

/**
 * Whether any image of the run shows a periodic pattern in its fine detail (PERIODIC_PEAK_POWER).
 * A periodic sample's contrast reverses a few DOF out, where the blur's transfer function
 * changes sign at its frequency, and its images either side of such a reversal anti-correlate
 * like a phase sample's either side of focus. The flank condition (FLANK_RATIO) keeps most such
 * pairs out, but dust shadows on the camera window keep every image's Tenengrad up: the held-out
 * Born–Wolf mesh with dust paired that way 15–51 µm from focus. A periodic sample neither pairs
 * by its fine detail nor gets a contrast-sign answer. (Before, an answer was refused when DeepFocus
 * read the images between the pair blurrier than the pair, as the mesh's structure fades out
 * between; but an unstained cell at higher NA all but vanishes in focus too, and DeepFocus reads
 * it blurry there: docs/benchmarks.md, "Fine-detail pairs, and periodic samples".)
 */
function periodicSample(run: DeepFocusRun): boolean {
  for (const thumbs of run.fineThumbs.values()) {
    let peak = finePeakPower.get(thumbs);
    if (peak === undefined) {
      peak = peakPowerFraction(thumbs[0], FINE_DETAIL_SIGMA_PX);
      finePeakPower.set(thumbs, peak);
    }
    if (peak >= PERIODIC_PEAK_POWER) return true;
  }
  return false;
}

/**
 * Focus of a phase sample from a contrast inversion: where its signed contrast crosses zero (a
 * result of `method`), or null when the images left cannot narrow the bracket to FWHM / 4.
 * The signed contrast of an image is its detail projected on the difference of the bracket
 * ends' details, over that difference's squared norm: the ends read 1 apart, negative on
 * `lo`'s side of focus, positive on `hi`'s. It is read at two scales:
 * - coarse: the thumbnails' detail (`thumbDetail`) on the inverted pair's difference. It grows in
 *   proportion to defocus over several DOF, so its line's zero places images well, but a faint
 *   absorption beside the phase adds an even part to the contrast, which moves the sign change
 *   of structure of frequency f by about κ/(πλf²) (κ the absorption per radian of phase): the
 *   simulator's unstained cells (κ 0.05) change sign 3–6 µm off focus at 10×/NA 0.3 there;
 * - fine: the detail of the finer `splitThumbs` (σ FINE_DETAIL_SIGMA_PX), on the difference of
 *   the current bracket's ends (finer structure shows nearer focus), with one half of each image
 *   against the other so that no image's own noise enters the product. It changes sign within
 *   0.5 µm of focus on those cells, but grows with defocus only over a few µm.
 * Each image goes where the coarse line crosses zero, and replaces the end the fine signed
 * contrast puts it beside; where the fine line crosses zero instead when the coarse zero lies
 * outside the bracket's middle half (the two scales disagree: the bracket's end nearest it was
 * imaged there, and lies on the far side of the fine sign change); the middle when the same end
 * was kept twice in a row. This goes on while the budget lasts and the bracket is wider than
 * twice the refinement's tolerance; the answer lies where the next image would (without the
 * middle), or at the coarse zero wherever it lies in a bracket that narrow, with a quarter of
 * the bracket's width as uncertainty; none for a periodic sample (`periodicSample`: its contrast
 * reverses away from focus). The result carries `fallback: { metric:
 * "contrast-sign", confirmed: false }`: DeepFocus reads a phase sample as in focus over several
 * DOF and cannot confirm it.
 */
export async function inversionFocus(run: DeepFocusRun, inversion: ContrastInversion, method: string): Promise<DeepFocusResult | null> {
  const coarse = (p: TracePoint): Float64Array => thumbDetail(run.thumbs.get(p)!);
  const fine = (p: TracePoint, half: 0 | 1): Float64Array => thumbDetail(run.fineThumbs.get(p)![half], FINE_DETAIL_SIGMA_PX);
  const [c0, c1] = [coarse(inversion.lo), coarse(inversion.hi)];
  const reference = c1.map((v, i) => v - c0[i]);
  const norm = dot(reference, reference);
  const coarseSigned = (p: TracePoint): number => dot(coarse(p), reference) / norm;
  let [lo, hi] = [inversion.lo, inversion.hi];
  const fineSigned = (p: TracePoint): number => {
    let projection = 0;
    let norm2 = 0;
    for (const [a, b] of [[0, 1], [1, 0]] as const) {
      const [d, d0, d1, e0, e1] = [fine(p, a), fine(lo, b), fine(hi, b), fine(lo, a), fine(hi, a)];
      for (let i = 0; i < d.length; i++) {
        const r = d1[i] - d0[i];
        projection += d[i] * r;
        norm2 += (e1[i] - e0[i]) * r;
      }
    }
    return projection / norm2;
  };
  const toleranceUm = toleranceOf(run);
  let kept = { end: "", times: 0 };
  // The bracket's sign change: the coarse line's zero where it lies within `trusted` of the bracket's half-width from the middle, else the fine line's.
  const zeroUm = (trusted: number): number => {
    const widthUm = hi.zUm - lo.zUm;
    const middle = (lo.zUm + hi.zUm) / 2;
    const [sLo, sHi] = [coarseSigned(lo), coarseSigned(hi)];
    const coarseUm = lo.zUm + (widthUm * sLo) / (sLo - sHi);
    const zUm = sLo < 0 && sHi > 0 && Math.abs(coarseUm - middle) <= (trusted * widthUm) / 2 ? coarseUm : lo.zUm - fineSigned(lo) * widthUm;
    return Number.isFinite(zUm) ? Math.min(hi.zUm, Math.max(lo.zUm, zUm)) : middle;
  };
  const next = (): number => {
    const zUm = kept.times >= 2 ? (lo.zUm + hi.zUm) / 2 : zeroUm(1 / 2);
    return Math.min(hi.zUm - toleranceUm, Math.max(lo.zUm + toleranceUm, zUm));
  };
  while (run.trace.length < imageBudget(run) && hi.zUm - lo.zUm > 2 * toleranceUm) {
    const p = await probe(run.ctx, run.trace, run.t0Ms, next());
    if (!run.thumbs.has(p) || !run.fineThumbs.has(p)) break;
    const onLoSide = fineSigned(p) < 0;
    if (onLoSide) lo = p;
    else hi = p;
    const end = onLoSide ? "hi" : "lo";
    kept = { end, times: kept.end === end ? kept.times + 1 : 1 };
  }
  // Only near focus does the signed contrast grow in proportion to defocus: the line's zero through a wider bracket is a guess.
  if (hi.zUm - lo.zUm > run.profile.fwhmUm / 4 || periodicSample(run)) return null;
  const reason = `DeepFocus reads the images at z=${inversion.lo.zUm.toFixed(1)} and z=${inversion.hi.zUm.toFixed(1)} µm as in focus, and they show the same structure with inverted contrast (correlation ${inversion.correlation.toFixed(2)}): an unstained (phase) sample in bright field, focused where its contrast changes sign (${imagesWhere(run.trace)})`;
  return settleUnconfirmed(run, { zUm: zeroUm(hi.zUm - lo.zUm <= 2 * toleranceUm ? 1 : 1 / 2), uncertaintyUm: (hi.zUm - lo.zUm) / 4 }, method, { metric: CONTRAST_SIGN, reason });
}

/** The refinement's tolerance (µm) of the run. */
function toleranceOf(run: DeepFocusRun): number {
  return run.options.toleranceUm ?? DEFAULT_REFINE_TOLERANCE_UM;
}

/**
 * Where a run should image next to show a phase sample's contrast inversion, or null. An image
 * with no valid tile (featureless) beside images with detail is a phase sign: an absorbing
 * sample's blur grows with distance from focus, so of three images the middle one is never the
 * most featureless, while a phase object in focus shows almost no contrast (simulated unstained
 * cells at 10×/NA 0.3: no valid tile within ±1 µm of focus). When an image within FWHM / 4 of
 * the featureless one reads in focus to DeepFocus, the next image mirrors it about the
 * featureless one (the two then lie either side of focus, `contrastInversion`); when the
 * featureless image lies between images with detail and none near it reads in focus, the next
 * image lies FWHM / 8 from it towards the nearer of them. Never where the run has an image
 * already (within the refinement's tolerance).
 */
export function mirrorProbe(run: DeepFocusRun): number | null {
  const inFocusB = inFocusScore(run);
  const toleranceUm = toleranceOf(run);
  const { minUm, maxUm } = run.ctx.stage.options;
  const fresh = (zUm: number): boolean => zUm >= minUm && zUm <= maxUm && run.trace.every((p) => Math.abs(p.zUm - zUm) > toleranceUm);
  const textured = run.trace.filter((p) => Number.isFinite(p.score));
  for (const f of run.trace.filter((p) => !Number.isFinite(p.score))) {
    const distance = (p: TracePoint): number => Math.abs(p.zUm - f.zUm);
    const near = textured.filter((p) => p.score <= inFocusB && distance(p) <= run.profile.fwhmUm / 4).sort((a, b) => distance(a) - distance(b));
    if (near.length > 0) {
      const zUm = 2 * f.zUm - near[0].zUm;
      if (fresh(zUm)) return zUm;
      continue;
    }
    const below = textured.filter((p) => p.zUm < f.zUm);
    const above = textured.filter((p) => p.zUm > f.zUm);
    if (below.length === 0 || above.length === 0) continue;
    const nearest = [...below, ...above].sort((a, b) => distance(a) - distance(b))[0];
    const zUm = f.zUm + Math.sign(nearest.zUm - f.zUm) * (run.profile.fwhmUm / 8);
    if (fresh(zUm)) return zUm;
  }
  return null;
}

/** Whether the run's images show a phase sample (a contrast inversion, or a featureless image to image beside: `mirrorProbe`): its search and refinement stop for `phaseFocus`. */
export function phaseSign(run: DeepFocusRun): boolean {
  return contrastInversion(run) !== null || mirrorProbe(run) !== null;
}

/**
 * A phase sample's focus (`inversionFocus`, a result of `method`) once the run's images show a
 * contrast inversion, imaging where `mirrorProbe` says while the budget lasts; null when they
 * show none (the run goes on as DeepFocus's).
 */
export async function phaseFocus(run: DeepFocusRun, method: string): Promise<DeepFocusResult | null> {
  for (;;) {
    const inversion = contrastInversion(run);
    if (inversion) return await inversionFocus(run, inversion, method);
    const zUm = mirrorProbe(run);
    if (zUm === null || run.trace.length >= imageBudget(run)) return null;
    await probe(run.ctx, run.trace, run.t0Ms, zUm);
  }
}
