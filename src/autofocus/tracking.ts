import type { CalibrationProfile } from "./calibration.js";
import { finish, guarded, matchTrace, searchAndFinish, startRun, type DeepFocusOptions, type DeepFocusResult } from "./deepfocus.js";
import { probeAll } from "./probe.js";
import { phaseFocus } from "./contrast-inversion.js";
import type { AutofocusContext } from "./types.js";

export interface TrackingOptions extends DeepFocusOptions {
  /** The two tracking images sit at lastFocusUm ± offsetUm; default FWHM / 2. */
  offsetUm?: number;
  /** Largest drift corrected from the two images alone (µm); default one FWHM. */
  maxDriftUm?: number;
}

/** A tracking result: `mode` says whether two images sufficed or the full search ran. */
export interface TrackingResult extends DeepFocusResult {
  mode: "tracking" | "search";
}

/**
 * Focus tracking for timelapses: two images either side of the last in-focus position,
 * matched to the calibration curve, correct a small drift. When the match is untrustworthy
 * (residual, flat, edge) or the drift exceeds `maxDriftUm`, the full DeepFocus search runs
 * from the last focus, reusing the two images (they count towards `maxImages`), and focuses an
 * unstained sample by the sign of its contrast as deepfocusAutofocus does (`searchAndFinish`) —
 * from the two images alone when they show its contrast inverted (`phaseFocus`).
 * @throws FocusNotFoundError as deepfocusAutofocus, with the stage back at the start.
 */
export async function trackFocus(ctx: AutofocusContext, profile: CalibrationProfile, lastFocusUm: number, options: TrackingOptions): Promise<TrackingResult> {
  const run = startRun(ctx, profile, options);
  const { minUm, maxUm } = ctx.stage.options;
  const offsetUm = options.offsetUm ?? profile.fwhmUm / 2;
  const maxDriftUm = options.maxDriftUm ?? profile.fwhmUm;
  return guarded(run, async () => {
    await probeAll(run.ctx, run.trace, run.t0Ms, [lastFocusUm - offsetUm, lastFocusUm + offsetUm].map((zUm) => Math.min(maxUm, Math.max(minUm, zUm))));
    const quick = matchTrace(run);
    if (quick.problem === null && quick.shiftUm !== null && Math.abs(quick.shiftUm - lastFocusUm) <= maxDriftUm)
      return { ...(await finish(run, quick, "deepfocus-tracking")), mode: "tracking" as const };
    // The two images may show an unstained sample already (contrast inverted either side of focus): no search triple then.
    const phase = await phaseFocus(run, "deepfocus-tracking");
    return { ...(phase ?? (await searchAndFinish(run, lastFocusUm, "deepfocus-tracking"))), mode: "search" as const };
  });
}
