import type { Frame } from "../../src/hardware/camera/types.js";
import { extractMirrored } from "../../src/image/mirrored.js";
import { nextPow2, RealFft2d } from "../../src/optics/fft2d.js";
import { toFrame } from "../../src/refocus/normalise.js";

/** Radial frequency rings of the oracle filter (0 … √2·Nyquist). */
const RINGS = 256;

/**
 * The best shift-invariant, rotation-invariant linear filter for one pair, fitted **with the
 * truth** — an upper bound for any linear deconvolution of that frame (Wiener with the exact
 * PSF and exact signal and noise spectra included), not a method a user can run.
 *
 * Both images are mirror-extended onto one power-of-two grid (frame centred, so the grid's
 * wrap-around seam lies away from the frame), and per ring of radial frequency the filter is
 * H = Re Σ T·conj(I) / Σ |I|² (least squares over the ring's coefficients). The output is
 * IFT(H·I) cropped to the frame, rounded and clipped to the input's bit depth by `toFrame`, like
 * every other method's output.
 */
export function linearOracle(input: Frame, truth: ArrayLike<number>): Frame {
  const { width, height } = input;
  const gw = nextPow2(2 * width);
  const gh = nextPow2(2 * height);
  const fft = new RealFft2d(gw, gh);
  const x0 = -Math.floor((gw - width) / 2);
  const y0 = -Math.floor((gh - height) / 2);
  const extend = (src: ArrayLike<number>) => {
    const grid = new Float32Array(gw * gh);
    extractMirrored(src, width, height, x0, y0, gw, gh, grid);
    return fft.forward(grid);
  };
  const I = extend(input.data);
  const T = extend(truth);
  const hw = fft.halfWidth;
  const ring = new Int32Array(gh * hw);
  const rMax = Math.SQRT1_2 * (1 + 1e-9);
  for (let ky = 0; ky < gh; ky++) {
    const fy = (ky <= gh / 2 ? ky : ky - gh) / gh;
    for (let kx = 0; kx < hw; kx++) ring[ky * hw + kx] = Math.min(RINGS - 1, Math.floor((Math.hypot(kx / gw, fy) / rMax) * RINGS));
  }
  const cross = new Float64Array(RINGS);
  const power = new Float64Array(RINGS);
  for (let i = 0; i < ring.length; i++) {
    const [ir, ii, tr, ti] = [I[2 * i], I[2 * i + 1], T[2 * i], T[2 * i + 1]];
    cross[ring[i]] += tr * ir + ti * ii;
    power[ring[i]] += ir * ir + ii * ii;
  }
  for (let i = 0; i < ring.length; i++) {
    const h = power[ring[i]] > 0 ? cross[ring[i]] / power[ring[i]] : 0;
    I[2 * i] *= h;
    I[2 * i + 1] *= h;
  }
  const image = fft.inverse(I, { overwriteInput: true, firstRow: -y0, rowCount: height });
  const cropped = new Float64Array(width * height);
  for (let y = 0; y < height; y++) cropped.set(image.subarray((y - y0) * gw - x0, (y - y0) * gw - x0 + width), y * width);
  return toFrame(cropped, input);
}
