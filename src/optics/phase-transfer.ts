import type { ObjectiveConfig } from "../config/schema.js";
import type { RadialOtf } from "./otf.js";
import type { PhaseSlide } from "./slides.js";

/**
 * Bright-field imaging of a transparent (unstained) object by the weak-object approximation. A
 * slide adding phase φ(x) with |φ| ≪ 1 and absorbing κ·φ, lit by Köhler illumination through a
 * condenser of aperture σ·NA, images as
 *
 *   I(x, z) = B · (1 − 2·F⁻¹[Φ(f) · (sin χ(f) + κ·cos χ(f)) · E(f)]),  |f| ≤ NA/λ,
 *
 * with B the background transmission, χ(f) = 2π·z·(n/λ − √((n/λ)² − f²)) the pupil's defocus
 * phase and E(f) = exp(−(σ·NA/(2λ) · |∇χ(f)|)²) the envelope by which the condenser's
 * partial coherence damps each frequency. In focus only the faint absorption shows; either
 * side the phase appears with opposite signs (a dark rim one side, a bright one the other), and
 * its contrast fades with defocus as the envelope closes. The linear model stops holding for
 * phases near a radian (real cells reach 1–2 rad; scripts/bench/phase-stacks.py images
 * those by Abbe's method instead).
 */

/** Condenser aperture relative to the objective's NA (σ): a bright-field condenser partly closed for contrast. */
export const CONDENSER_SIGMA = 0.5;

/** Samples of the radial profile from 0 to the coherent cutoff NA/λ. */
const PROFILE_SAMPLES = 2048;

/**
 * The weak object's transfer function at defocus `zUm` (sample space) as a radial profile: the
 * factor `pixelGridOtf` takes to the frame's grid, applied to the phase's spectrum.
 */
export function weakPhaseTransfer(objective: ObjectiveConfig, zUm: number, slide: PhaseSlide, sigma = CONDENSER_SIGMA): RadialOtf {
  const { na, immersionIndex: n, wavelengthUm: lambda } = objective;
  const cutoff = na / lambda;
  const k = n / lambda;
  const stepPerUm = cutoff / PROFILE_SAMPLES;
  const values = new Float64Array(PROFILE_SAMPLES + 1);
  for (let j = 0; j < PROFILE_SAMPLES; j++) {
    const f = j * stepPerUm;
    const root = Math.sqrt(k * k - f * f);
    const chi = 2 * Math.PI * zUm * (k - root);
    const gradChi = (2 * Math.PI * zUm * f) / root;
    const envelope = Math.exp(-((((sigma * na) / (2 * lambda)) * gradChi) ** 2));
    values[j] = (Math.sin(chi) + slide.absorptionPerRad * Math.cos(chi)) * envelope;
  }
  return { stepPerUm, values };
}
