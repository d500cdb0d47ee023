import { coarseSweepWarning, staticPatternWarning, type CalibrationProfile } from "./calibration.js";
import { blurGrowthWarning, type Optics } from "./deepfocus.js";

/**
 * Everything a new calibration profile should tell the user, joined by "; ": its frames hold
 * something that does not blur with focus (`staticPatternWarning`), its blur grows unlike the
 * `optics` predict (`blurGrowthWarning`; skipped when they are unknown), or its planes are too far
 * apart (`coarseSweepWarning`). Null when none applies. `focusbox calibrate` and the station's
 * Calibrate both report it.
 */
export function calibrationWarning(profile: CalibrationProfile, optics: Optics | undefined): string | null {
  const warnings = [staticPatternWarning(profile), blurGrowthWarning(profile.blurGrowthPx2PerUm2, optics), coarseSweepWarning(profile)].filter((w) => w !== null);
  return warnings.length ? warnings.join("; ") : null;
}
