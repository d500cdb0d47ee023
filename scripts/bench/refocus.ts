import { existsSync } from "node:fs";
import { configSchema, type Config } from "../../src/config/schema.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { extractMirrored } from "../../src/image/mirrored.js";
import { createDeepFocusScorer } from "../../src/inference/deepfocus.js";
import { depthOfFieldUm } from "../../src/optics/dof.js";
import { createHeldoutSlide, HELDOUT_TEXTURES, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import { digitize, REFERENCE_EXPOSURE_US } from "../../src/optics/noise.js";
import { coneTan } from "../../src/optics/psf.js";
import { PSF_MODELS, PsfImaging, type PsfModelId } from "../../src/optics/psf-models.js";
import { hashInts, Rng } from "../../src/optics/rng.js";
import { deepfocusBlurEstimator, fixedBlur, type BlurEstimator } from "../../src/refocus/blur-estimate.js";
import { createNetRefocuser, SHIPPED_REFOCUS_MODELS, type NetRefocuser } from "../../src/refocus/net.js";
import { airyRadiusPx } from "../../src/refocus/psf.js";
import { psnr, ssim } from "../../src/refocus/quality.js";
import { RlRefocuser } from "../../src/refocus/rl.js";
import { opticsWiener, type WienerFiltered } from "../../src/refocus/wiener.js";
import { AutoRefocuser } from "../../src/refocus/auto.js";
import { linearOracle } from "./linear-oracle.js";
import { mean } from "./table.js";

/**
 * Digital refocus (issue 9) on held-out synthetic pairs: textures the network never saw
 * (src/optics/heldout-slides.ts: diatoms, pollen, usaf, mesh) imaged through PSF models it was
 * not trained on (Gaussian and Born–Wolf, src/optics/psf-models.ts; training used the exact
 * scalar pupil with aberrations, scripts/refocus/pairs.py) at the default optics (10×/NA 0.3,
 * λ 0.55 µm, n 1, 3.45-µm camera pixel, 512×384 8-bit frames, shot + read noise).
 *
 * Pair = (noisy frame at defocus z, noise-free in-focus frame of the same PSF model in the same
 * DN units, unrounded): the truth. |z| = k·DOF, DOF = depthOfFieldUm (7.26 µm here, 6.6 px of
 * geometric blur radius), k in DOFS; the sign of z alternates. PSNR and SSIM as in
 * src/refocus/quality.ts (peak = the truth's max − min; SSIM Gaussian σ 1.5). Methods:
 *   input           the defocused frame itself;
 *   net fp32 / int8 the shipped refocus network (tiles 512, overlap 64) with its Wiener channel
 *                   (the Wiener row's estimate, below: one Wiener pass per pair serves net,
 *                   Wiener and auto, as inference would compute it once);
 *   RL DeepFocus    Richardson–Lucy, 10 iterations, TV 0.002, per-tile blur from the shipped
 *                   DeepFocus INT8 model (the issue's baseline);
 *   RL known blur   the same RL given the true blur radius b = √(r_def² + r_Airy²) (an oracle:
 *                   the best this baseline can do with a disc PSF);
 *   Wiener          blind Wiener deconvolution with the configured objective's pupil, |z| and the
 *                   signal and noise spectra estimated per tile from the frame itself
 *                   (src/refocus/wiener.ts, src/focus/spectral-defocus.ts);
 *   auto            net fp32 when the median of the Wiener tiles' |z| is within one DOF, Wiener
 *                   beyond, one Wiener pass either way (src/refocus/auto.ts);
 *   linear oracle   the best linear shift-invariant filter for each pair, fitted with its truth
 *                   (linear-oracle.ts): what exact knowledge of PSF, signal and noise spectra
 *                   could reach by deconvolution, an upper bound, not a method.
 * Time per megapixel: a 2048×1536 frame (4×4 mirror tiling of a held-out frame at 2 DOF) for
 * the network and Wiener (single-threaded JS: one row), 1024×768 for RL (DeepFocus estimation
 * included); median of `timingRuns`.
 */

export const DOFS = [0.25, 0.5, 0.75, 1.25, 1.5, 1.75, 2.25, 2.5, 2.75, 3.5, 4.5] as const;
const BINS: [string, number, number][] = [
  ["0 (in focus)", 0, 0],
  ["0–1", 1e-9, 1],
  ["1–2", 1, 2],
  ["2–3", 2, 3],
  ["> 3", 3, 99],
];

export interface RefocusBenchOptions {
  /** One seed instead of two (default false). */
  quick?: boolean;
  textures?: readonly HeldoutTexture[];
  psfModels?: readonly PsfModelId[];
  seeds?: readonly number[];
  /** onnxruntime intra-op threads for the quality runs (default 1). */
  threads?: number;
  /** Thread counts of the timing runs (default [1, 2]). */
  timingThreads?: readonly number[];
  timingRuns?: number;
  progress?: (message: string) => void;
}

/** One column of the quality tables; `filtered` is the pair's one Wiener pass, shared by net, Wiener and auto. */
interface Method {
  name: string;
  run(frame: Frame, trueBlurPx: number, truth: Float64Array, filtered: WienerFiltered): Promise<Frame>;
}

export async function benchRefocus(opts: RefocusBenchOptions = {}): Promise<void> {
  const config: Config = configSchema.parse({});
  if (config.camera.kind !== "simulated") throw new Error("default camera is not simulated");
  const camera = config.camera;
  const objective = config.objective;
  const textures = [...(opts.textures ?? HELDOUT_TEXTURES)];
  const psfModels = [...(opts.psfModels ?? (["gaussian", "born-wolf"] as PsfModelId[]))];
  const seeds = [...(opts.seeds ?? (opts.quick ? [1] : [1, 2]))];
  const log = opts.progress ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { width, height } = camera;
  const dof = depthOfFieldUm(objective, camera.pixelSizeUm);
  const pixelUm = camera.pixelSizeUm / objective.magnification;
  const airyPx = airyRadiusPx(objective.wavelengthUm, objective.na, pixelUm);
  const defocusPxPerUm = coneTan(objective) / pixelUm;
  const blurOf = (zUm: number) => Math.hypot(zUm * defocusPxPerUm, airyPx);
  const threads = opts.threads ?? 1;

  // Methods
  const wiener = opticsWiener(objective, pixelUm);
  const nets: { name: string; net: NetRefocuser }[] = [];
  const notRun: string[] = [];
  for (const precision of ["fp32", "int8"] as const) {
    if (!existsSync(SHIPPED_REFOCUS_MODELS[precision])) {
      notRun.push(`net ${precision}: ${SHIPPED_REFOCUS_MODELS[precision]} missing`);
      continue;
    }
    nets.push({ name: `net ${precision}`, net: await createNetRefocuser({ model: precision, executionProviders: ["cpu"], threads, wiener }) });
  }
  const deepfocus = await createDeepFocusScorer({ model: "int8", executionProviders: ["cpu"], threads, warmupWindows: 0 });
  const dfEstimator = deepfocusBlurEstimator(deepfocus);
  const dfError = await dfEstimator.scoreWindows(new Float32Array(dfEstimator.window ** 2), 1).then(
    () => null,
    (err: unknown) => `RL DeepFocus: the shipped DeepFocus model does not take ${dfEstimator.window}-px windows with a blur radius in px (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
  );
  if (dfError) notRun.push(dfError);
  const estimates: { k: number; est: number; valid: boolean; truth: number }[] = [];
  const recording: BlurEstimator = {
    window: dfEstimator.window,
    sha256: dfEstimator.sha256,
    async scoreWindows(w, n) {
      const r = await dfEstimator.scoreWindows(w, n);
      for (let i = 0; i < n; i++) estimates.push({ k: currentK, est: r.defocus[i], valid: r.validity[i] > 0, truth: currentBlur });
      return r;
    },
  };
  let currentK = 0;
  let currentBlur = 0;
  const rlDf = new RlRefocuser({ blur: recording, airyPx });
  // Shares the fp32 network with its own row (closed with the others below, not through auto).
  const auto = nets.length ? new AutoRefocuser({ net: nets[0].net, handoverUm: dof }) : null;
  const methods: Method[] = [
    ...nets.map(({ name, net }) => ({ name, run: async (f: Frame, _b: number, _t: Float64Array, w: WienerFiltered) => (await net.refocusWith(f, w)).frame })),
    ...(dfError ? [] : [{ name: "RL DeepFocus", run: async (f: Frame) => (await rlDf.refocus(f)).frame }]),
    { name: "RL known blur", run: async (f: Frame, b: number) => (await new RlRefocuser({ blur: fixedBlur(b), airyPx }).refocus(f)).frame },
    { name: "Wiener", run: async (f: Frame, _b: number, _t: Float64Array, w: WienerFiltered) => wiener.result(f, w, performance.now()).frame },
    ...(auto ? [{ name: "auto", run: async (f: Frame, _b: number, _t: Float64Array, w: WienerFiltered) => (await auto.refocusWith(f, w)).frame }] : []),
    { name: "linear oracle", run: async (f: Frame, _b: number, truth: Float64Array) => linearOracle(f, truth) },
  ];

  // Pairs
  const ks = [0, ...DOFS];
  const zMax = Math.max(...ks) * dof;
  const models = psfModels.map((p) => PSF_MODELS[p]);
  const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width, height, maxDefocusUm: zMax, models });
  const maxAdu = 2 ** camera.bitDepth - 1;
  const aduPerIntensity = (camera.exposureUs / REFERENCE_EXPOSURE_US) * camera.gain * maxAdu;
  type Row = { k: number; psf: string; texture: string; psnr: number[]; ssim: number[] };
  const rows: Row[] = [];
  const t0 = performance.now();
  let pairs = 0;
  const total = psfModels.length * textures.length * seeds.length * ks.length;
  for (const [pi, model] of models.entries()) {
    const otfs = ks.map((k, ki) => imaging.otf(model, (ki % 2 ? -1 : 1) * k * dof));
    for (const [ti, texture] of textures.entries())
      for (const seed of seeds) {
        const spectrum = imaging.objectSpectrum(createHeldoutSlide(texture, seed));
        const truthI = imaging.intensity(spectrum, otfs[0]);
        const truth = Float64Array.from(truthI, (v) => Math.min(maxAdu, v * aduPerIntensity));
        for (const [ki, k] of ks.entries()) {
          const zUm = (ki % 2 ? -1 : 1) * k * dof;
          const data = digitize(imaging.intensity(spectrum, otfs[ki]), camera, new Rng(hashInts(seed, ti, pi, ki, 0x5ef0c)));
          const frame: Frame = { data, width, height, bitDepth: camera.bitDepth, timestampMs: 0 };
          currentK = k;
          currentBlur = blurOf(zUm);
          const outs = [frame];
          const filtered = wiener.filtered(frame);
          for (const m of methods) outs.push(await m.run(frame, blurOf(zUm), truth, filtered));
          rows.push({ k, psf: psfModels[pi], texture, psnr: outs.map((o) => psnr(o.data, truth)), ssim: outs.map((o) => ssim(o.data, truth, width, height)) });
          if (++pairs % 24 === 0) log(`refocus bench: ${pairs}/${total} pairs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        }
      }
  }
  const qualityS = (performance.now() - t0) / 1000;

  // Timing
  const timing: (string | number)[][] = [];
  const runs = opts.timingRuns ?? 3;
  const big = mirrorTile(rows.length ? await renderAt(imaging, models[0], textures[0], 2 * dof, camera) : null, 4);
  const mid = mirrorTile(big, 0.5);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  /** One timing row: the median of `runs` refocuses of `frame`, in s per megapixel. */
  const timeRow = async (name: string, threads: number, refocuser: { refocus(f: Frame): Promise<{ info: { durationMs: number; tiles: number } }> }, frame: Frame) => {
    const ms: number[] = [];
    let tiles = 0;
    for (let r = 0; r < runs; r++) {
      const res = await refocuser.refocus(frame);
      ms.push(res.info.durationMs);
      tiles = res.info.tiles;
    }
    timing.push([name, threads, `${frame.width}×${frame.height}`, tiles, median(ms) / 1000 / ((frame.width * frame.height) / 1e6)]);
  };
  for (const t of opts.timingThreads ?? [1, 2]) {
    for (const precision of ["fp32", "int8"] as const) {
      if (!existsSync(SHIPPED_REFOCUS_MODELS[precision])) continue;
      const net = await createNetRefocuser({ model: precision, executionProviders: ["cpu"], threads: t, wiener });
      await timeRow(`net ${precision}`, t, net, big);
      await net.close();
    }
    const df = dfError ? null : await createDeepFocusScorer({ model: "int8", executionProviders: ["cpu"], threads: t, warmupWindows: 1 });
    await timeRow(df ? "RL DeepFocus" : "RL known blur", t, new RlRefocuser({ blur: df ? deepfocusBlurEstimator(df) : fixedBlur(blurOf(2 * dof)), airyPx }), mid);
    await df?.close();
  }
  await timeRow("Wiener", 1, wiener, big);
  for (const { net } of nets) await net.close();
  await deepfocus.close();

  // Report
  const names = ["input", ...methods.map((m) => m.name)];
  const w = (line: string) => process.stdout.write(line + "\n");
  w(`\n### Digital refocus on held-out pairs\n`);
  w(
    `Setup: ${textures.length} held-out textures {${textures.join(", ")}} × seeds {${seeds.join(", ")}} × PSF {${psfModels.join(", ")}} × |z| = {0, ${DOFS.join(", ")}} DOF ` +
      `(${rows.length} pairs); ${objective.magnification}×/NA ${objective.na}, λ ${objective.wavelengthUm} µm, camera pixel ${camera.pixelSizeUm} µm (sample ${pixelUm.toFixed(3)} µm), ` +
      `DOF ${dof.toFixed(2)} µm = ${(dof * defocusPxPerUm).toFixed(1)} px of defocus blur radius, Airy radius ${airyPx.toFixed(2)} px; ${width}×${height} ${camera.bitDepth}-bit frames with shot + read noise. ` +
      `Truth: the noise-free in-focus frame (same PSF model, DN units). PSNR peak = truth max − min. Mean over pairs in each bin of |z|/DOF.`,
  );
  /** Columns (into `names`) whose PSNR gain over the input gets its own column: the first network, Wiener and auto. */
  const gainColumns = [...(nets.length ? [1] : []), ...["Wiener", "auto"].map((n) => names.indexOf(n)).filter((i) => i >= 0)];
  const binRows = (metric: "psnr" | "ssim", digits: number) =>
    BINS.flatMap(([label, lo, hi]) => {
      const sel = rows.filter((r) => (lo === 0 && hi === 0 ? r.k === 0 : r.k >= lo && r.k < hi));
      if (!sel.length) return [];
      const m = names.map((_, i) => mean(sel.map((r) => r[metric][i])));
      const gain = metric === "psnr" ? gainColumns.map((c) => ` | ${(m[c] - m[0]) >= 0 ? "+" : ""}${(m[c] - m[0]).toFixed(2)}`).join("") : "";
      return [`| ${label} | ${sel.length} | ${m.map((v) => v.toFixed(digits)).join(" | ")}${gain} |`];
    });
  w("");
  const psnrHeader = ["|z| (DOF)", "pairs", ...names.map((n) => `${n} PSNR dB`), ...gainColumns.map((c) => `${names[c]} gain dB`)];
  w(`| ${psnrHeader.join(" | ")} |`);
  w(`|${psnrHeader.map(() => "---").join("|")}|`);
  for (const line of binRows("psnr", 2)) w(line);
  w("");
  const ssimHeader = ["|z| (DOF)", "pairs", ...names.map((n) => `${n} SSIM`)];
  w(`| ${ssimHeader.join(" | ")} |`);
  w(`|${ssimHeader.map(() => "---").join("|")}|`);
  for (const line of binRows("ssim", 3)) w(line);
  w("");
  for (const c of gainColumns)
    w(`${names[c]} gain over the input by PSF model and texture, |z| ≤ 3 DOF (dB): ${[...psfModels, ...textures]
      .map((key) => {
        const sel = rows.filter((r) => r.k > 0 && r.k <= 3 && (r.psf === key || r.texture === key));
        return `${key} ${sel.length ? mean(sel.map((r) => r.psnr[c] - r.psnr[0])).toFixed(2) : "–"}`;
      })
      .join(", ")}.`);
  const dfLines = BINS.map(([label, lo, hi]) => {
    const sel = estimates.filter((e) => (lo === 0 && hi === 0 ? e.k === 0 : e.k >= lo && e.k < hi));
    const valid = sel.filter((e) => e.valid);
    const err = valid.map((e) => Math.abs(e.est - e.truth)).sort((a, b) => a - b);
    return `${label}: ${valid.length}/${sel.length} tiles valid, median |b − b_true| ${err.length ? err[Math.floor(err.length / 2)].toFixed(1) : "–"} px (b_true ${sel.length ? mean(sel.map((e) => e.truth)).toFixed(1) : "–"} px)`;
  });
  if (!dfError) w(`DeepFocus blur estimates behind "RL DeepFocus" (sha ${deepfocus.info.sha256.slice(0, 12)}): ${dfLines.join("; ")}.`);
  w("");
  w(`| method | threads | frame | tiles | s per MP |`);
  w(`|---|---|---|---|---|`);
  for (const r of timing) w(`| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} | ${(r[4] as number).toFixed(2)} |`);
  w("");
  for (const { name, net } of nets) w(`${name}: ${net.info.precision}, provider ${net.info.provider}, sha256 ${net.info.sha256}`);
  w(`Quality runs: ${qualityS.toFixed(0)} s wall for ${rows.length} pairs (onnxruntime ${threads} thread${threads > 1 ? "s" : ""}).`);
  for (const m of notRun) w(`not run: ${m}`);
}

async function renderAt(imaging: PsfImaging, model: (typeof PSF_MODELS)[PsfModelId], texture: HeldoutTexture, zUm: number, camera: Config["camera"] & { kind: "simulated" }): Promise<Frame> {
  const data = digitize(imaging.intensity(imaging.objectSpectrum(createHeldoutSlide(texture, 9)), imaging.otf(model, zUm)), camera, new Rng(99));
  return { data, width: imaging.opts.width, height: imaging.opts.height, bitDepth: camera.bitDepth, timestampMs: 0 };
}

/** A frame `factor` times larger per axis by mirror tiling (a factor < 1 crops). */
function mirrorTile(frame: Frame | null, factor: number): Frame {
  if (!frame) throw new Error("no frame to tile");
  const width = Math.round(frame.width * factor);
  const height = Math.round(frame.height * factor);
  const tiled = new Float32Array(width * height);
  extractMirrored(frame.data, frame.width, frame.height, 0, 0, width, height, tiled);
  return { ...frame, data: frame.data instanceof Uint8Array ? Uint8Array.from(tiled) : Uint16Array.from(tiled), width, height };
}
