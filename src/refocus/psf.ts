import { RealFft2d } from "../optics/fft2d.js";

/**
 * The defocus kernel the Richardson–Lucy baseline deconvolves with, and how it follows from a
 * DeepFocus blur estimate.
 *
 * DeepFocus reports a tile's blur radius b = √(r_def² + r_Airy²) (px). The in-focus image
 * already carries the Airy blur, so the kernel that maps in-focus to defocused is the
 * geometric-optics defocus disc alone: a uniform disc of radius
 * r_def = √(max(0, b² − r_Airy²)) (the incoherent defocused PSF ≈ disc ⊛ Airy). The disc is
 * area-sampled on the pixel grid (8 × 8 sub-samples per pixel) and its edge softened by a
 * Gaussian of σ = 0.5 px (diffraction and the unmodelled edge ripple of the real PSF). With
 * no optics known, r_Airy = 1 px. Below r_def = 0.5 px the kernel is the identity.
 */

/** r_def from a blur radius b and the Airy radius (px). */
export function defocusRadiusPx(blurPx: number, airyPx: number): number {
  return Math.sqrt(Math.max(0, blurPx * blurPx - airyPx * airyPx));
}

/** Airy radius in pixels, 0.61 λ / NA / p, for wavelength and sample-plane pixel in µm. */
export function airyRadiusPx(wavelengthUm: number, na: number, samplePixelUm: number): number {
  return (0.61 * wavelengthUm) / na / samplePixelUm;
}

const SUB = 8;
const EDGE_SIGMA_PX = 0.5;

/**
 * OTF (real, half-spectrum layout of RealFft2d: `size` rows × (size/2 + 1) columns) of the
 * defocus disc of radius `radiusPx` on a periodic `size × size` grid, unit DC gain.
 */
export function discOtf(radiusPx: number, size: number): Float64Array {
  const fft = new RealFft2d(size, size);
  const hw = fft.halfWidth;
  const otf = new Float64Array(size * hw);
  const r = Math.min(radiusPx, size / 2 - 1);
  if (r < 0.5) return otf.fill(1);
  const psf = new Float64Array(size * size);
  const reach = Math.ceil(r + 1);
  let sum = 0;
  for (let dy = -reach; dy <= reach; dy++)
    for (let dx = -reach; dx <= reach; dx++) {
      let inside = 0;
      for (let sy = 0; sy < SUB; sy++)
        for (let sx = 0; sx < SUB; sx++) {
          const x = dx - 0.5 + (sx + 0.5) / SUB;
          const y = dy - 0.5 + (sy + 0.5) / SUB;
          if (x * x + y * y <= r * r) inside++;
        }
      if (inside === 0) continue;
      const v = inside / (SUB * SUB);
      psf[((dy + size) % size) * size + ((dx + size) % size)] = v;
      sum += v;
    }
  const spec = fft.forward(psf);
  const g = 2 * Math.PI * Math.PI * EDGE_SIGMA_PX * EDGE_SIGMA_PX;
  for (let ky = 0; ky < size; ky++) {
    const fy = (ky < size / 2 ? ky : ky - size) / size;
    for (let kx = 0; kx < hw; kx++) {
      const fx = kx / size;
      otf[ky * hw + kx] = (spec[2 * (ky * hw + kx)] / sum) * Math.exp(-g * (fx * fx + fy * fy));
    }
  }
  return otf;
}
