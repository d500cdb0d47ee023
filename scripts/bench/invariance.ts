import { configSchema, type ObjectiveConfig, type SimulatedCameraConfig } from "../../src/config/schema.js";
import { createClassicalScorer } from "../../src/focus/classical-scorer.js";
import { SpectralDefocusModel, SpectralDefocusScorer } from "../../src/focus/spectral-defocus.js";
import { median } from "../../src/focus/stats.js";
import { CLASSICAL_METRIC_IDS, type ClassicalMetricId, type FocusScorer, type Roi } from "../../src/focus/types.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { createDeepFocusScorer, type DeepFocusScorer } from "../../src/inference/deepfocus.js";
import { depthOfFieldUm } from "../../src/optics/dof.js";
import { createHeldoutSlide, HELDOUT_TEXTURES, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import { digitize } from "../../src/optics/noise.js";
import { PSF_MODELS, PsfImaging, type PsfModelId } from "../../src/optics/psf-models.js";
import { hashInts, Rng } from "../../src/optics/rng.js";

/**
 * The DeepFocus paper's Table 1, re-measured on stacks the CNN was not trained on: held-out
 * textures (src/optics/heldout-slides.ts) imaged through held-out PSF models (Gaussian and
 * Born–Wolf, src/optics/psf-models.ts) at the default optics (10×/NA 0.3, λ 0.55 µm, 3.45-µm
 * camera pixels, 512×384 8-bit frames with shot and read noise), every plane scored by both
 * DeepFocus models and the eight classical metrics through the FocusScorer interface on the
 * default ROI (central 60 %, 3×3 tiles).
 *
 * A "curve" is one (PSF model, texture, seed) stack's frame scores s(z). Higher-is-sharper
 * scores are negated first, so every curve is low at focus.
 *
 * - SD: each curve normalised to [0, 1] by its min and max over |z| ≤ normHalfRangeUm
 *   (0 = sharpest, 1 = blurriest); the population SD across curves at each z, averaged over
 *   the z planes in that range (the paper's "sample invariance").
 * - H(|z| | s): all (|z|, normalised score) pairs of all curves in the same range pooled;
 *   |z| binned by round(|z| / zBinUm), the score into `scoreBins` equal-population (quantile)
 *   bins of the pooled scores (ties share a bin); H = Σ_b p(b)·H(|z| | b) in bits (plug-in
 *   estimate, biased low by roughly (#|z|-bins − 1)/(2·pairs-per-bin·ln 2)). H(|z|) with no
 *   information is printed in the setup line. "H full" repeats it over the whole stack with
 *   curves normalised over the whole stack.
 * - Capture range: curves normalised over the whole stack; at each |z| = a on the stack grid,
 *   m(a) and σ(a) are the mean and SD over all curves and both signs ±a. With D = DOF
 *   (depthOfFieldUm: λn/NA² + n·e/(M·NA)), the curve is informative at a when
 *   m(a + D) − m(a) > √((σ(a)² + σ(a + D)²)/2) (values at a + D interpolated linearly): one
 *   DOF further from focus moves the mean score by more than the across-sample scatter, with
 *   the same sign at every a. The run must start at some a ≤ D (a flat bottom inside the
 *   first DOF is allowed) and the capture range is (last a of the unbroken run) + D, in DOF
 *   units; "≥" marks a run that reaches the end of the stack (zMaxUm), 0 no run at all.
 */

/**
 * Held-out textures whose defocused image is a pure periodic pattern a few DOF out (the woven
 * mesh): only the fundamental survives, and its amplitude — the one trace of defocus left — is
 * the OTF there times the object's unknown contrast, so one image cannot tell |z| from that
 * contrast. The notes also report SD and capture range without them.
 */
const PERIODIC_TEXTURES: readonly HeldoutTexture[] = ["mesh"];

export interface InvarianceOptions {
  /** Smaller run: one seed, 4-µm steps (default false). */
  quick?: boolean;
  textures?: readonly HeldoutTexture[];
  /** Default gaussian and born-wolf ("pupil" = the training PSF family, as a control). */
  psfModels?: readonly PsfModelId[];
  /** Slide seeds per texture. Default [1, 2, 3] ([1] when quick). */
  seeds?: readonly number[];
  /** Stack half-range (µm). Default 100. */
  zMaxUm?: number;
  /** Plane spacing (µm). Default 2 (4 when quick). */
  zStepUm?: number;
  /** Frame size (px). Default 512×384 (the default simulated camera). */
  width?: number;
  height?: number;
  /** Half-range (µm) of the SD / entropy normalisation. Default 50. */
  normHalfRangeUm?: number;
  /** |z| bin width (µm) for the entropy. Default 2. */
  zBinUm?: number;
  /** Equal-population score bins for the entropy. Default 20. */
  scoreBins?: number;
  /** DeepFocus models ("int8", "fp32" or ONNX paths). Default int8 and fp32. */
  deepfocusModels?: readonly string[];
  /** DeepFocus windows per ROI tile (matters only for frames wider than 1280 px). Default the config's. */
  maxWindowsPerTile?: number;
  /** Classical metrics. Default all eight. */
  metrics?: readonly ClassicalMetricId[];
  /** Also score with the spectral defocus estimate (src/focus/spectral-defocus.ts). Default true. */
  spectral?: boolean;
  /**
   * onnxruntime intra-op threads. Default 1: the benchmark alternates JS rendering with small
   * inference runs, and an idle intra-op pool spin-waits on the cores the renderer needs.
   * Scores do not depend on it.
   */
  threads?: number;
  /** Print the Markdown table (default true). */
  print?: boolean;
  /** Progress messages (default: none). */
  progress?: (message: string) => void;
}

export interface InvarianceRow {
  score: string;
  higherIsSharper: boolean;
  /** Mean across-sample SD of the normalised curve within ±normHalfRangeUm. */
  sd: number;
  sdByPsf: Record<string, number>;
  /** H(|z| | score) in bits within ±normHalfRangeUm, and over the whole stack. */
  entropyBits: number;
  entropyFullBits: number;
  captureUm: number;
  captureDof: number;
  /** True when the informative run reaches the end of the stack (capture range ≥ the value). */
  captureAtStackEnd: boolean;
  notes: string;
  /** The full-stack normalised curve folded on |z|: mean and SD over curves and ±z. */
  profile: CurveProfile;
  /** SD (as `sd`) per texture. */
  sdByTexture: Record<string, number>;
}

export interface CurveProfile {
  absZUm: number[];
  mean: number[];
  sd: number[];
}

export interface InvarianceResult {
  setup: {
    textures: HeldoutTexture[];
    psfModels: PsfModelId[];
    seeds: number[];
    zUm: number[];
    width: number;
    height: number;
    objective: ObjectiveConfig;
    cameraPixelUm: number;
    dofUm: number;
    roi: Roi;
    normHalfRangeUm: number;
    zBinUm: number;
    scoreBins: number;
    /** H(|z|) (bits) of the pooled pairs within ±normHalfRangeUm: the entropy with no score. */
    entropyPriorBits: number;
    entropyPriorFullBits: number;
  };
  rows: InvarianceRow[];
  /** Wall time per stack (s): rendering (optics + noise) and each scorer. */
  timing: { stacks: number; planesPerStack: number; renderS: number; scorerS: Record<string, number>; totalS: number };
  /** Per DeepFocus model: file SHA-256, precision and execution provider. */
  models: Record<string, { sha256: string; provider: string; precision: string }>;
  /** Pearson correlation of the per-tile int8 and fp32 DeepFocus scores (when both ran). */
  int8Fp32TileCorrelation?: number;
}

interface ScorerEntry {
  name: string;
  scorer: FocusScorer;
  deepfocus: boolean;
  /** What a frame scored NaN (no signal) counts as, for scorers other than DeepFocus. */
  noSignalScore?: number;
}

export async function benchInvariance(opts: InvarianceOptions = {}): Promise<InvarianceResult> {
  const quick = opts.quick ?? false;
  const config = configSchema.parse({});
  if (config.camera.kind !== "simulated") throw new Error("default camera is not simulated");
  const camera = config.camera;
  const objective = config.objective;
  const roi: Roi = config.autofocus.roi;
  const textures = [...(opts.textures ?? HELDOUT_TEXTURES)];
  const psfModels = [...(opts.psfModels ?? (["gaussian", "born-wolf"] as PsfModelId[]))];
  const seeds = [...(opts.seeds ?? (quick ? [1] : [1, 2, 3]))];
  const zMax = opts.zMaxUm ?? 100;
  const step = opts.zStepUm ?? (quick ? 4 : 2);
  const width = opts.width ?? camera.width;
  const height = opts.height ?? camera.height;
  const half = opts.normHalfRangeUm ?? 50;
  const zBin = opts.zBinUm ?? 2;
  const scoreBins = opts.scoreBins ?? 20;
  const log = opts.progress ?? (() => {});
  const nz = Math.floor((2 * zMax) / step + 1e-9) + 1;
  const zs = Array.from({ length: nz }, (_, i) => -zMax + i * step);
  const dof = depthOfFieldUm(objective, camera.pixelSizeUm);

  // Scorers
  const scorers: ScorerEntry[] = [];
  const models: InvarianceResult["models"] = {};
  const missing: string[] = [];
  for (const m of opts.deepfocusModels ?? ["int8", "fp32"]) {
    try {
      const df: DeepFocusScorer = await createDeepFocusScorer({ model: m, threads: opts.threads ?? 1, maxWindowsPerTile: opts.maxWindowsPerTile });
      // A model given by path is named by its precision and hash, so two files never share a row name.
      const name = `deepfocus ${m === "int8" || m === "fp32" ? m : `${df.info.precision} ${df.info.sha256.slice(0, 8)}`}`;
      models[name] = { sha256: df.info.sha256, provider: df.info.provider, precision: df.info.precision };
      scorers.push({ name, scorer: df, deepfocus: true });
    } catch (err) {
      missing.push(`deepfocus ${m}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (opts.spectral ?? true) {
    const model = new SpectralDefocusModel({ objective, samplePixelUm: camera.pixelSizeUm / objective.magnification });
    // A frame with no signal above the noise reads as the largest |z| the model tries: it is at least that blurred.
    scorers.push({ name: "spectral", scorer: new SpectralDefocusScorer(model), deepfocus: false, noSignalScore: model.zUm[model.zUm.length - 1] });
  }
  for (const id of opts.metrics ?? CLASSICAL_METRIC_IDS) scorers.push({ name: id, scorer: createClassicalScorer(id), deepfocus: false });

  // Stacks
  const spec: HeldoutStackSpec = { textures, psfModels, seeds, zUm: zs, width, height, objective, camera };
  const curves = heldoutCurves(spec);
  const scores = scorers.map(() => curves.map(() => new Float64Array(nz)));
  const noValid = scorers.map(() => 0);
  const invalidTiles = scorers.map(() => [0, 0]);
  const tileScores = scorers.map(() => [] as number[]);
  const scorerTime = scorers.map(() => 0);
  const t0 = performance.now();
  log(`invariance: ${curves.length / psfModels.length} slides × ${psfModels.length} PSF models × ${nz} planes`);
  const renderTime = await renderHeldoutStacks(
    spec,
    async (ci, zi, frame) => {
      for (const [k, entry] of scorers.entries()) {
        const t = performance.now();
        const r = await entry.scorer.score(frame, roi);
        scorerTime[k] += performance.now() - t;
        let v = r.score;
        if (entry.deepfocus) {
          const valid = r.valid ?? r.tiles.map(() => true);
          invalidTiles[k][0] += valid.filter((x) => !x).length;
          invalidTiles[k][1] += valid.length;
          tileScores[k].push(...r.tiles);
          if (!Number.isFinite(v)) {
            noValid[k]++;
            v = median(r.tiles); // no valid tile: fall back to the median of all tiles
          }
        } else if (!Number.isFinite(v)) {
          noValid[k]++;
          v = entry.noSignalScore ?? Number.NaN;
        }
        scores[k][ci][zi] = v;
      }
    },
    (n) => {
      if (n % 20 === 0) log(`invariance: ${n}/${nz} planes (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    },
  );
  for (const e of scorers) if (e.deepfocus) await (e.scorer as DeepFocusScorer).close();
  const totalS = (performance.now() - t0) / 1000;

  // Analysis
  const inHalf = zs.map((z) => Math.abs(z) <= half + 1e-9);
  const zBinOf = (z: number) => Math.round(Math.abs(z) / zBin);
  const halfZBins = zs.filter((_, i) => inHalf[i]).flatMap((z) => curves.map(() => zBinOf(z)));
  const fullZBins = zs.flatMap((z) => curves.map(() => zBinOf(z)));
  const rows: InvarianceRow[] = scorers.map((entry, k) => {
    const oriented = scores[k].map((c) => Array.from(c, (v) => (entry.scorer.higherIsSharper ? -v : v)));
    const n50 = oriented.map((c) => normalise(c, inHalf));
    const nFull = oriented.map((c) => normalise(c, zs.map(() => true)));
    const sdIn = (ids: number[]) => mean(zs.flatMap((_, zi) => (inHalf[zi] ? [popSd(ids.map((ci) => n50[ci][zi]))] : [])));
    const sdByPsf: Record<string, number> = {};
    psfModels.forEach((p, pi) => (sdByPsf[p] = sdIn(curves.flatMap((c, ci) => (c.pi === pi ? [ci] : [])))));
    const sdByTexture: Record<string, number> = {};
    textures.forEach((tex, ti) => (sdByTexture[tex] = sdIn(curves.flatMap((c, ci) => (c.ti === ti ? [ci] : [])))));
    const halfPairs = zs.flatMap((_, zi) => (inHalf[zi] ? curves.map((_, ci) => n50[ci][zi]) : []));
    const fullPairs = zs.flatMap((_, zi) => curves.map((_, ci) => nFull[ci][zi]));
    const capture = captureRange(zs, nFull, dof);
    const notes: string[] = [];
    if (psfModels.length > 1) notes.push(`SD ${psfModels.map((p) => `${p} ${sdByPsf[p].toFixed(3)}`).join(", ")}`);
    if (textures.length > 1) notes.push(`by texture ${textures.map((t) => `${t} ${sdByTexture[t].toFixed(3)}`).join(", ")}`);
    const aperiodic = curves.flatMap((c, ci) => (PERIODIC_TEXTURES.includes(c.texture) ? [] : [ci]));
    if (aperiodic.length > 1 && aperiodic.length < curves.length) {
      const cap = captureRange(zs, aperiodic.map((ci) => nFull[ci]), dof);
      notes.push(`aperiodic textures only: SD ${sdIn(aperiodic).toFixed(3)}, capture ${cap.atEnd ? "≥ " : ""}${(cap.rangeUm / dof).toFixed(1)} DOF`);
    }
    if (entry.deepfocus) {
      const [bad, all] = invalidTiles[k];
      notes.push(`invalid tiles ${((100 * bad) / Math.max(1, all)).toFixed(1)} %`);
      if (noValid[k]) notes.push(`${noValid[k]} frames with no valid tile (median of all tiles used)`);
      notes.push(`sha ${models[entry.name].sha256.slice(0, 12)}`);
    } else if (entry.scorer.higherIsSharper) notes.push("higher-is-sharper, negated");
    else notes.push(`estimated |z| in µm${noValid[k] ? `; ${noValid[k]} frames with no signal above noise (read as ${entry.noSignalScore?.toFixed(0)} µm)` : ""}`);
    return {
      score: entry.name,
      higherIsSharper: entry.scorer.higherIsSharper,
      sd: sdIn(curves.map((_, ci) => ci)),
      sdByPsf,
      entropyBits: conditionalEntropyBits(halfZBins, halfPairs, scoreBins),
      entropyFullBits: conditionalEntropyBits(fullZBins, fullPairs, scoreBins),
      captureUm: capture.rangeUm,
      captureDof: capture.rangeUm / dof,
      captureAtStackEnd: capture.atEnd,
      notes: notes.join("; "),
      profile: capture.profile,
      sdByTexture,
    };
  });

  let int8Fp32TileCorrelation: number | undefined;
  const i8 = scorers.findIndex((e) => e.name === "deepfocus int8");
  const f32 = scorers.findIndex((e) => e.name === "deepfocus fp32");
  if (i8 >= 0 && f32 >= 0) int8Fp32TileCorrelation = pearson(tileScores[i8], tileScores[f32]);

  const stacks = curves.length;
  const result: InvarianceResult = {
    setup: {
      textures,
      psfModels,
      seeds,
      zUm: zs,
      width,
      height,
      objective,
      cameraPixelUm: camera.pixelSizeUm,
      dofUm: dof,
      roi,
      normHalfRangeUm: half,
      zBinUm: zBin,
      scoreBins,
      entropyPriorBits: entropyBits(halfZBins),
      entropyPriorFullBits: entropyBits(fullZBins),
    },
    rows,
    timing: {
      stacks,
      planesPerStack: nz,
      renderS: renderTime / 1000 / stacks,
      scorerS: Object.fromEntries(scorers.map((e, k) => [e.name, scorerTime[k] / 1000 / stacks])),
      totalS,
    },
    models,
    int8Fp32TileCorrelation,
  };
  if (opts.print ?? true) printInvariance(result, missing);
  return result;
}

/** Prints the result as Markdown (docs/benchmarks.md format). */
export function printInvariance(r: InvarianceResult, missing: string[] = []): void {
  const s = r.setup;
  const o = s.objective;
  const w = (line: string) => process.stdout.write(line + "\n");
  w(`\n### Invariance on held-out stacks (DeepFocus paper Table 1, re-measured)\n`);
  w(
    `Setup: ${r.timing.stacks} stacks = PSF {${s.psfModels.join(", ")}} × texture {${s.textures.join(", ")}} × seed {${s.seeds.join(", ")}}; ` +
      `z ${s.zUm[0]}…+${s.zUm[s.zUm.length - 1]} µm step ${s.zUm[1] - s.zUm[0]} µm (${s.zUm.length} planes); ` +
      `${o.magnification}×/NA ${o.na}, λ ${o.wavelengthUm} µm, n ${o.immersionIndex}, camera pixel ${s.cameraPixelUm} µm, DOF ${s.dofUm.toFixed(2)} µm; ` +
      `${s.width}×${s.height} 8-bit frames with shot + read noise; ROI ${s.roi.cols}×${s.roi.rows} tiles over the central ${Math.round(s.roi.width * 100)} %. ` +
      `SD and H within ±${s.normHalfRangeUm} µm (curves min–max normalised there, 0 = sharpest); H bins: |z| ${s.zBinUm} µm, score ${s.scoreBins} equal-population bins ` +
      `(H(|z|) without a score: ${s.entropyPriorBits.toFixed(2)} bits within ±${s.normHalfRangeUm} µm, ${s.entropyPriorFullBits.toFixed(2)} bits full stack). ` +
      `Capture range: curves normalised over the full stack; informative while the mean moves by more than the across-sample SD per DOF step (see scripts/bench/invariance.ts).`,
  );
  w("");
  const header = ["score", "SD", "H(|z| | s) bits", "H full stack bits", "capture range (×DOF)", "notes"];
  w(`| ${header.join(" | ")} |`);
  w(`|${header.map(() => "---").join("|")}|`);
  for (const row of r.rows) {
    const capture = `${row.captureAtStackEnd ? "≥ " : ""}${row.captureDof.toFixed(1)}`;
    w(`| ${row.score} | ${row.sd.toFixed(3)} | ${row.entropyBits.toFixed(2)} | ${row.entropyFullBits.toFixed(2)} | ${capture} | ${row.notes} |`);
  }
  w("");
  const t = r.timing;
  const scorerPart = Object.entries(t.scorerS)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(", ");
  w(`Time per stack (${t.planesPerStack} planes, s): render ${t.renderS.toFixed(2)}, ${scorerPart}; total wall ${t.totalS.toFixed(0)} s for ${t.stacks} stacks.`);
  for (const [name, m] of Object.entries(r.models)) w(`${name}: ${m.precision}, provider ${m.provider}, sha256 ${m.sha256}`);
  if (r.int8Fp32TileCorrelation !== undefined) w(`DeepFocus int8 vs fp32 per-tile correlation on these stacks: ${r.int8Fp32TileCorrelation.toFixed(4)}`);
  for (const m of missing) w(`not run: ${m}`);
}

// ---------------------------------------------------------------- held-out stacks (also used by bench/autofocus.ts)

/** Held-out stacks: every PSF model × texture × seed, imaged at the defocus values `zUm`. */
export interface HeldoutStackSpec {
  textures: readonly HeldoutTexture[];
  psfModels: readonly PsfModelId[];
  seeds: readonly number[];
  /** Defocus of each plane (µm). */
  zUm: readonly number[];
  width: number;
  height: number;
  objective: ObjectiveConfig;
  /** Pixel pitch and sensor (noise, bit depth) of the simulated camera. */
  camera: SimulatedCameraConfig;
}

/** One stack of a spec: its PSF model, texture and seed, with their indices in the spec. */
export interface HeldoutCurve {
  psf: PsfModelId;
  pi: number;
  texture: HeldoutTexture;
  ti: number;
  seed: number;
  si: number;
}

/** The spec's stacks, PSF-major (the `ci` of renderHeldoutStacks). */
export function heldoutCurves(spec: HeldoutStackSpec): HeldoutCurve[] {
  const samples = spec.textures.flatMap((texture, ti) => spec.seeds.map((seed) => ({ texture, ti, seed })));
  return spec.psfModels.flatMap((psf, pi) => samples.map((s, si) => ({ psf, pi, si, ...s })));
}

/**
 * Renders every plane of every stack of `spec` (frames with shot and read noise, seeded per
 * stack and plane) and hands it to `onFrame(ci, zi, frame)`, ci indexing heldoutCurves(spec).
 * Planes are visited in order of |z| (all PSF models here are symmetric in ±z, so each OTF is
 * built once per |z|), on the smallest FFT grid whose margin holds the PSF at that |z|; object
 * spectra are computed per (texture, seed) and grid, and dropped once the planes have outgrown
 * their grid. `onPlane(n)` is called after the n-th plane of all stacks. Returns the
 * rendering time (ms, `onFrame` excluded).
 */
export async function renderHeldoutStacks(
  spec: HeldoutStackSpec,
  onFrame: (ci: number, zi: number, frame: Frame) => void | Promise<void>,
  onPlane?: (n: number) => void,
): Promise<number> {
  const { objective, camera, width, height, psfModels } = spec;
  const zs = spec.zUm;
  const psfList = psfModels.map((p) => PSF_MODELS[p]);
  const imagings = new Map<string, { imaging: PsfImaging; spectra?: Float64Array[] }>();
  const imagingFor = (absZ: number) => {
    const im = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width, height, maxDefocusUm: absZ, models: psfList });
    const key = `${im.gridW}x${im.gridH}`;
    let entry = imagings.get(key);
    if (!entry) imagings.set(key, (entry = { imaging: im }));
    return entry;
  };
  const samples = spec.textures.flatMap((texture, ti) => spec.seeds.map((seed) => ({ texture, ti, seed })));
  let renderTime = 0;
  const order = zs.map((_, i) => i).sort((a, b) => Math.abs(zs[a]) - Math.abs(zs[b]) || zs[a] - zs[b]);
  let otfs: Float32Array[] = [];
  let otfAbsZ = Number.NaN;
  let current: { imaging: PsfImaging; spectra?: Float64Array[] } | undefined;
  for (const [n, zi] of order.entries()) {
    const z = zs[zi];
    let t = performance.now();
    if (Math.abs(z) !== otfAbsZ) {
      const entry = imagingFor(Math.abs(z));
      if (entry !== current) {
        if (current) current.spectra = undefined;
        current = entry;
        current.spectra = samples.map((s) => entry.imaging.objectSpectrum(createHeldoutSlide(s.texture, s.seed)));
      }
      otfs = psfList.map((m) => current!.imaging.otf(m, Math.abs(z)));
      otfAbsZ = Math.abs(z);
    }
    renderTime += performance.now() - t;
    const { imaging, spectra } = current!;
    for (const [pi] of psfModels.entries())
      for (const [si, s] of samples.entries()) {
        t = performance.now();
        const intensity = imaging.intensity(spectra![si], otfs[pi]);
        const data = digitize(intensity, camera, new Rng(hashInts(s.seed, s.ti, pi, zi, 0x1a5e)));
        const frame: Frame = { data, width, height, bitDepth: camera.bitDepth, timestampMs: 0 };
        renderTime += performance.now() - t;
        await onFrame(pi * samples.length + si, zi, frame);
      }
    onPlane?.(n + 1);
  }
  return renderTime;
}

// ---------------------------------------------------------------- analysis helpers (exported for tests)

/** Min–max normalisation of `curve` over the entries where `use` is true (all zeros when flat). */
export function normalise(curve: readonly number[], use: readonly boolean[]): number[] {
  let lo = Infinity, hi = -Infinity;
  curve.forEach((v, i) => {
    if (use[i]) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  });
  const span = hi - lo;
  return curve.map((v) => (span > 0 ? (v - lo) / span : 0));
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Population standard deviation. */
export function popSd(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Shannon entropy (bits) of a list of discrete labels. */
export function entropyBits(labels: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / labels.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * H(Z | S) in bits for paired discrete `zLabels` and continuous `scores`, the scores cut into
 * `bins` equal-population bins at the pooled quantiles (equal values always share a bin).
 */
export function conditionalEntropyBits(zLabels: readonly number[], scores: readonly number[], bins: number): number {
  const n = scores.length;
  const sorted = [...scores].sort((a, b) => a - b);
  const edges = Array.from({ length: bins - 1 }, (_, k) => sorted[Math.floor(((k + 1) * n) / bins)]);
  const groups = new Map<number, number[]>();
  scores.forEach((s, i) => {
    let b = 0;
    while (b < edges.length && s >= edges[b]) b++;
    const g = groups.get(b);
    if (g) g.push(zLabels[i]);
    else groups.set(b, [zLabels[i]]);
  });
  let h = 0;
  for (const g of groups.values()) h += (g.length / n) * entropyBits(g);
  return h;
}

/**
 * Capture range (µm) of normalised curves `curves[c][zi]` on the grid `zs` (symmetric,
 * evenly spaced): see the module comment for the rule. `atEnd` when the run reaches the
 * last |z| that can be checked.
 */
export function captureRange(zs: readonly number[], curves: readonly number[][], dofUm: number): { rangeUm: number; atEnd: boolean; profile: CurveProfile } {
  const absZ = [...new Set(zs.map((z) => Math.abs(z)))].sort((a, b) => a - b);
  const stats = absZ.map((a) => {
    const vals = curves.flatMap((c) => zs.flatMap((z, zi) => (Math.abs(Math.abs(z) - a) < 1e-9 ? [c[zi]] : [])));
    return { m: mean(vals), s: popSd(vals) };
  });
  const at = (a: number) => {
    let k = 0;
    while (k + 2 < absZ.length && absZ[k + 1] < a) k++;
    const t = Math.min(1, Math.max(0, (a - absZ[k]) / (absZ[k + 1] - absZ[k])));
    return { m: stats[k].m + t * (stats[k + 1].m - stats[k].m), s: stats[k].s + t * (stats[k + 1].s - stats[k].s) };
  };
  const zMax = absZ[absZ.length - 1];
  let start = -1;
  let last = -1;
  for (let k = 0; k < absZ.length && absZ[k] + dofUm <= zMax + 1e-9; k++) {
    const a = absZ[k];
    const far = at(a + dofUm);
    const pass = far.m - stats[k].m > Math.sqrt((stats[k].s ** 2 + far.s ** 2) / 2);
    if (start < 0) {
      if (pass && a <= dofUm) start = last = k;
      else if (a > dofUm) break;
    } else if (pass) last = k;
    else break;
  }
  const profile = { absZUm: absZ, mean: stats.map((x) => x.m), sd: stats.map((x) => x.s) };
  if (start < 0) return { rangeUm: 0, atEnd: false, profile };
  const nextChecked = last + 1 < absZ.length && absZ[last + 1] + dofUm <= zMax + 1e-9;
  return { rangeUm: absZ[last] + dofUm, atEnd: !nextChecked, profile };
}
