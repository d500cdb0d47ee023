import { defaultProfileName, defaultProfilePath, loadProfile, type CalibrationProfile } from "../autofocus/calibration.js";
import { classicalAutofocus } from "../autofocus/classical.js";
import { deepfocusAutofocus } from "../autofocus/deepfocus.js";
import { createScorerForMethod, type MethodScorer } from "../autofocus/evaluate.js";
import { trackFocus } from "../autofocus/tracking.js";
import type { AutofocusResult } from "../autofocus/types.js";
import type { Config } from "../config/schema.js";
import { CanceledError } from "../errors.js";
import { blurGrowthPx2PerUm2Of } from "../focus/blur-match.js";
import { createClassicalScorer } from "../focus/classical-scorer.js";
import type { FocusScorer } from "../focus/types.js";
import { depthOfFieldUm } from "../optics/dof.js";
import type { OperationContext } from "../station/operations.js";
import type { TimelapseRequest } from "./job.js";
import type { PointFocus } from "./journal.js";

/** The DeepFocus scorer and calibration profiles the deepfocus and tracking policies use. */
export interface DeepFocusSource {
  scorer(): Promise<FocusScorer>;
  profile(name: string | undefined): Promise<CalibrationProfile>;
  close(): Promise<void>;
}

/** The configured DeepFocus model (loaded on first use) and the profiles in `<stateDir>/calibration`. */
export function configuredDeepFocus(config: Config): DeepFocusSource {
  let loading: Promise<MethodScorer> | null = null;
  const load = () => (loading ??= createScorerForMethod("deepfocus", config.deepfocus));
  return {
    scorer: async () => (await load()).scorer,
    profile: async (name) => loadProfile(defaultProfilePath(config.stateDir, name ?? defaultProfileName(config)), (await load()).modelHash),
    close: async () => {
      if (loading) await (await loading).close();
      loading = null;
    },
  };
}

/**
 * Focuses for one point by the job's policy. `lastFocusUm` is the previous point's focus
 * (null at the first point or after a restart: tracking then runs the full search). A failed
 * autofocus is reported in `error` with the stage back where it started; cancellation throws.
 */
export async function focusPoint(ctx: OperationContext, af: TimelapseRequest["autofocus"], deepfocus: DeepFocusSource, lastFocusUm: number | null): Promise<PointFocus> {
  const startUm = ctx.stage.positionUm();
  const t0 = ctx.clock.nowMs();
  if (af.policy === "none" || af.policy === "refocus") return { policy: af.policy, focusUm: startUm, startUm, images: 0, durationMs: 0 };
  try {
    const result = await runPolicy(ctx, af, deepfocus, lastFocusUm);
    const unconfirmed = result.fallback && !result.fallback.confirmed ? { unconfirmed: true as const } : {};
    return { policy: af.policy, focusUm: result.finalUm, startUm, images: result.images, mode: result.mode, ...unconfirmed, durationMs: result.durationMs };
  } catch (err) {
    if (err instanceof CanceledError || ctx.signal.aborted) throw err;
    return { policy: af.policy, focusUm: ctx.stage.positionUm(), startUm, images: 0, error: (err as Error).message, durationMs: ctx.clock.nowMs() - t0 };
  }
}

async function runPolicy(ctx: OperationContext, af: TimelapseRequest["autofocus"], source: DeepFocusSource, lastFocusUm: number | null): Promise<AutofocusResult & { mode?: string }> {
  const { config } = ctx;
  if (af.policy === "classical") {
    const a = config.autofocus;
    const scorer = createClassicalScorer(af.metric ?? a.metric);
    const coarseStepUm = 1.5 * depthOfFieldUm(config.objective, ctx.cameraPixelUm);
    return classicalAutofocus({ ...ctx, scorer, roi: a.roi }, { strategy: a.strategy, rangeUm: a.rangeUm, coarseStepUm, toleranceUm: a.toleranceUm, maxImages: a.maxImages });
  }
  const [scorer, profile] = await Promise.all([source.scorer(), source.profile(af.profile)]);
  const dctx = { ...ctx, scorer, roi: profile.roi };
  const options = { maxImages: af.maxImages ?? config.deepfocus.maxImages, blurGrowthPx2PerUm2: blurGrowthPx2PerUm2Of(config.objective, ctx.cameraPixelUm) };
  if (af.policy === "tracking" && lastFocusUm !== null) return trackFocus(dctx, profile, lastFocusUm, options);
  return { ...(await deepfocusAutofocus(dctx, profile, options)), mode: af.policy === "tracking" ? "search" : undefined };
}
