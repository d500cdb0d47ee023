import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import type { InferenceLog } from "../inference/session.js";
import { cameraPixelUm, depthOfFieldUm } from "../optics/dof.js";
import { deepfocusBlurEstimator, type BlurEstimator } from "./blur-estimate.js";
import { airyRadiusPx } from "./psf.js";
import { RlRefocuser } from "./rl.js";
import { opticsWiener, type WienerRefocuser } from "./wiener.js";
import { AutoRefocuser } from "./auto.js";
import { REFOCUS_METHODS, type RefocusMethod, type Refocuser } from "./types.js";

export { REFOCUS_METHODS, type RefocusInfo, type RefocusMethod, type Refocuser } from "./types.js";

/**
 * Airy radius (px) of the configured optics, 0.61 λ / NA / p with p the sample-plane pixel
 * (configuredSamplePixelUm). Undefined when no pixel size is known (the RL baseline then assumes 1 px).
 */
export function configuredAiryPx(config: Config, samplePixelUm?: number): number | undefined {
  const o = config.objective;
  const pixelUm = configuredSamplePixelUm(config, samplePixelUm);
  return pixelUm === undefined ? undefined : airyRadiusPx(o.wavelengthUm, o.na, pixelUm);
}

/**
 * Sample-plane pixel (µm): the one given (a camera's reported one, or the user's for an image
 * taken elsewhere), else a subprocess camera's configured `pixelSizeUm` (sample plane) or the
 * simulated camera's pitch / magnification; undefined when unknown.
 */
export function configuredSamplePixelUm(config: Config, samplePixelUm?: number): number | undefined {
  if (samplePixelUm !== undefined && samplePixelUm > 0) return samplePixelUm;
  const configured = config.camera.kind !== "simulated" && "pixelSizeUm" in config.camera ? config.camera.pixelSizeUm : undefined;
  const cam = cameraPixelUm(config.camera, configured, config.objective);
  return cam > 0 ? cam / config.objective.magnification : undefined;
}

export interface CreateRefocuserOptions {
  /** Airy radius (px) for rl; default configuredAiryPx(config). */
  airyPx?: number;
  /** Sample-plane pixel (µm) for wiener; default configuredSamplePixelUm(config). */
  samplePixelUm?: number;
  /**
   * rl's per-tile blur estimate from an already-loaded DeepFocus model (the station's; shared,
   * never released by the refocuser). Default: rl loads config `deepfocus.model` itself.
   */
  blur?: BlurEstimator;
  log?: InferenceLog;
}

/**
 * A refocuser by method, from the config's `refocus` block: `net` loads the refocus network
 * with the configured optics' Wiener channel (netWienerChannel: none, with a warning, when they are unknown);
 * `rl` uses `opts.blur`, else loads the configured DeepFocus model (config `deepfocus.model`)
 * as its per-tile blur estimator and releases it on close; `wiener` builds the configured
 * objective's defocus model (focus/spectral-defocus.ts); `auto` loads the network and builds
 * Wiener, handing over at one DOF.
 * @throws ConfigError for an unknown method, or wiener without a known pixel size; Error when a model cannot be loaded.
 */
export async function createRefocuser(method: string, config: Config, opts: CreateRefocuserOptions = {}): Promise<Refocuser> {
  if (!(REFOCUS_METHODS as readonly string[]).includes(method))
    throw new ConfigError(`method: unknown refocus method "${method}"; expected one of ${REFOCUS_METHODS.join(", ")}`, [{ path: "method", message: "unknown method" }]);
  const r = config.refocus;
  const threads = r.threads || undefined;
  const samplePixelUm = opts.samplePixelUm ?? configuredSamplePixelUm(config);
  const createNet = async (wiener: WienerRefocuser | undefined) => {
    const { createNetRefocuser } = await import("./net.js"); // onnxruntime loads only when asked for
    return createNetRefocuser({ model: r.model, executionProviders: r.executionProviders, threads, tileSize: r.tileSize, overlap: r.overlap, wiener, log: opts.log });
  };
  if (method === "net") return createNet(netWienerChannel(config, samplePixelUm, opts.log));
  if (method === "wiener" || method === "auto") {
    if (samplePixelUm === undefined)
      throw new ConfigError(`refocus method ${method} needs the sample-plane pixel size: set camera.pixelSizeUm`, [{ path: "camera.pixelSizeUm", message: `required by refocus method ${method}` }]);
    const wiener = opticsWiener(config.objective, samplePixelUm);
    if (method === "wiener") return wiener;
    const handoverUm = depthOfFieldUm(config.objective, samplePixelUm * config.objective.magnification);
    return new AutoRefocuser({ net: await createNet(wiener), handoverUm });
  }
  const rlOptions = { airyPx: opts.airyPx ?? configuredAiryPx(config), iterations: r.rl.iterations, tv: r.rl.tv };
  if (opts.blur) return new RlRefocuser({ ...rlOptions, blur: opts.blur });
  const { configuredDeepFocusScorer } = await import("../inference/deepfocus.js");
  const scorer = await configuredDeepFocusScorer(config.deepfocus, { warmupWindows: 1, log: opts.log });
  return Object.assign(new RlRefocuser({ ...rlOptions, blur: deepfocusBlurEstimator(scorer) }), { close: () => scorer.close() });
}

/**
 * The network's Wiener channel (net.ts) for the configured optics; undefined, with a warning,
 * when the pixel size is unknown or too coarse for the spectral estimate: the network then runs
 * on the image alone, as it was trained to for such optics.
 */
function netWienerChannel(config: Config, samplePixelUm: number | undefined, log?: InferenceLog): WienerRefocuser | undefined {
  const without = (reason: string) => {
    log?.warn({ reason }, "refocus: the network runs without its Wiener channel (it will denoise, but barely deconvolve)");
    return undefined;
  };
  if (samplePixelUm === undefined) return without("the sample-plane pixel size is unknown: set camera.pixelSizeUm");
  try {
    return opticsWiener(config.objective, samplePixelUm);
  } catch (e) {
    if (e instanceof ConfigError) return without(e.message);
    throw e;
  }
}

/** Refocusers loaded on first use, one per method (the web route and the timelapse policy). */
export interface RefocusSource {
  /** The refocuser for `method` (default: config `refocus.method`). */
  get(method?: RefocusMethod): Promise<Refocuser>;
  close(): Promise<void>;
}

/** The optics options of a known sample-plane pixel (µm: a running camera's, or the user's for an image taken elsewhere), else the config's. */
export function pixelOptions(config: Config, samplePixelUm: number | undefined): Pick<CreateRefocuserOptions, "airyPx" | "samplePixelUm"> {
  return { airyPx: configuredAiryPx(config, samplePixelUm), samplePixelUm: configuredSamplePixelUm(config, samplePixelUm) };
}

/**
 * `configuredRefocus` with the Airy radius of a running camera (its reported sample-plane pixel,
 * µm) and, when given, the station's loaded DeepFocus model as rl's blur estimate.
 */
export function cameraRefocus(config: Config, samplePixelUm: number | undefined, blur?: BlurEstimator): RefocusSource {
  return configuredRefocus(config, { ...pixelOptions(config, samplePixelUm), blur });
}

export function configuredRefocus(config: Config, opts: CreateRefocuserOptions = {}): RefocusSource {
  const loaded = new Map<RefocusMethod, Promise<Refocuser>>();
  return {
    get(method = config.refocus.method) {
      let p = loaded.get(method);
      if (!p) {
        p = createRefocuser(method, config, opts);
        p.catch(() => loaded.delete(method));
        loaded.set(method, p);
      }
      return p;
    },
    async close() {
      const all = [...loaded.values()];
      loaded.clear();
      for (const p of all) await (await p.catch(() => null))?.close();
    },
  };
}
