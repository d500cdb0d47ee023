import { acquirePlanes, calibrateSweeps, defaultProfileName, defaultProfilePath, loadProfile, saveProfile } from "../autofocus/calibration.js";
import { calibrationWarning } from "../autofocus/calibration-warning.js";
import { deepfocusAutofocus } from "../autofocus/deepfocus.js";
import type { Config } from "../config/schema.js";
import { blurGrowthPx2PerUm2Of } from "../focus/blur-match.js";
import type { Clock } from "../hardware/clock.js";
import { createDevices } from "../hardware/index.js";
import { configuredDeepFocusScorer } from "../inference/deepfocus.js";
import { deepfocusBlurEstimator, type BlurEstimator } from "../refocus/blur-estimate.js";
import { calibrationSweepAround, type AutofocusMethod, type CalibrateRunner } from "./operations.js";
import { Station } from "./station.js";
import type { DeepFocusSource } from "../timelapse/focus.js";

/** The DeepFocus autofocus and calibration as station plug-ins, sharing one loaded model. */
export interface DeepFocusPlugins {
  autofocusMethods: { deepfocus: AutofocusMethod };
  calibrate: CalibrateRunner;
  /** The same model and profiles for the timelapse policies (closing it is the station's job). */
  source: DeepFocusSource;
  /** The same model as the RL refocus baseline's per-tile blur estimate. */
  blur: BlurEstimator;
  close(): Promise<void>;
}

/**
 * Loads the configured DeepFocus model (execution provider with fallback, warm-up) and returns
 * the station's `deepfocus` autofocus method and its calibration. Profiles are JSON files in
 * `<stateDir>/calibration/<name>.json`; one made with another model is refused.
 */
export async function createDeepFocusPlugins(config: Config): Promise<DeepFocusPlugins> {
  const scorer = await configuredDeepFocusScorer(config.deepfocus);
  const modelHash = scorer.info.sha256;
  const profileFile = (name: string | undefined) => defaultProfilePath(config.stateDir, name ?? defaultProfileName(config));

  const deepfocus: AutofocusMethod = async (ctx, request) => {
    const profile = await loadProfile(profileFile(request.profile), modelHash);
    const { maxImages, verify } = config.deepfocus;
    const blurGrowthPx2PerUm2 = blurGrowthPx2PerUm2Of(config.objective, ctx.cameraPixelUm);
    const result = await deepfocusAutofocus({ ...ctx, scorer, roi: profile.roi }, profile, { maxImages, verify, blurGrowthPx2PerUm2 });
    const calibrationCurve = { zUm: profile.curve.map((p) => p.zUm + result.finalUm), b: profile.curve.map((p) => p.b) };
    return { ...result, calibrationCurve };
  };

  const calibrate: CalibrateRunner = async (ctx, request) => {
    const name = request.name ?? defaultProfileName(config);
    const startUm = ctx.stage.positionUm();
    const sweep = calibrationSweepAround(ctx, request);
    const sweeps = await acquirePlanes(ctx.camera, ctx.stage, scorer, config.autofocus.roi, sweep, ctx.signal, ctx.onProgress);
    await ctx.stage.moveTo(startUm, ctx.signal);
    const { magnification, na } = config.objective;
    const profile = calibrateSweeps(sweeps, { name, objective: { magnification, na }, scorer, roi: config.autofocus.roi, modelHash });
    await saveProfile(profileFile(name), profile);
    const warning = calibrationWarning(profile, { objective: config.objective, cameraPixelUm: ctx.cameraPixelUm }) ?? undefined;
    return { kind: "profile", name, path: `calibration/${name}.json`, planes: sweeps[0].planes.length, fwhmUm: profile.fwhmUm, binning: profile.binning, captureRangeUm: profile.captureRangeUm, curve: profile.curve, warning };
  };

  const source: DeepFocusSource = { scorer: async () => scorer, profile: (name) => loadProfile(profileFile(name), modelHash), close: async () => {} };
  return { autofocusMethods: { deepfocus }, calibrate, source, blur: deepfocusBlurEstimator(scorer), close: () => scorer.close() };
}

/**
 * The appliance's station: the configured devices plus the DeepFocus plug-ins (model loaded
 * and warmed up before this resolves); `stop()` also releases the model. `deepfocus` shares
 * that model and the profiles with other users (the timelapse), `blur` the model with the RL
 * refocus baseline.
 */
export async function createStation(config: Config, clock: Clock): Promise<{ station: Station; deepfocus: DeepFocusSource; blur: BlurEstimator }> {
  const devices = await createDevices(config, clock);
  const plugins = await createDeepFocusPlugins(config);
  const station = new Station(config, devices, clock, {
    longPressAction: config.buttonLongPress,
    autofocusMethods: plugins.autofocusMethods,
    calibrate: plugins.calibrate,
    onStopped: plugins.close,
  });
  return { station, deepfocus: plugins.source, blur: plugins.blur };
}
