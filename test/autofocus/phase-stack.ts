import type { Frame } from "../../src/hardware/camera/types.js";
import { StackWriter } from "../../src/hardware/zstack.js";
import { RealFft2d } from "../../src/optics/fft2d.js";
import { Rng } from "../../src/optics/rng.js";

/**
 * A z-stack of unstained cells in bright field for tests, by the weak-phase approximation
 * (scripts/bench/phase-stacks.py images them by Abbe's method, too slow for a test): a phase
 * object φ with |φ| ≪ 1 under nearly coherent light of wavelength λ images as
 * I(z) = 1 − 2·F⁻¹[Φ(f)·sin(πλ(z − z₀)f²)·E(z, f)] inside the pupil (|f| ≤ NA/λ), where E is
 * the condenser's partial-coherence envelope exp(−(πσ·NA·(z − z₀)·f)²): no contrast in focus,
 * contrast of opposite signs either side. 10×/NA 0.3, λ 0.55 µm, 0.345-µm pixels (3.45-µm camera
 * pixels), 384×288 8-bit frames with shot and read noise.
 */
export async function writePhaseStack(dir: string, o: { focusUm: number; fromUm: number; toUm: number; stepUm: number; seed: number }): Promise<void> {
  const [width, height, pixelUm, na, lambdaUm, sigma] = [384, 288, 0.345, 0.3, 0.55, 0.3];
  const fft = new RealFft2d(512, 512);
  const rng = new Rng(o.seed);
  // Cells: phase domes of 0.1–0.2 rad, 8–20 µm across, holding granules of 0.05–0.1 rad, 0.6–1.6 µm across; on a 512² field whose centre is imaged.
  const phase = new Float64Array(fft.width * fft.height);
  const dome = (cx: number, cy: number, r: number, peak: number): void => {
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(fft.height, cy + r); y++)
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(fft.width, cx + r); x++) {
        const d2 = ((x - cx) ** 2 + (y - cy) ** 2) / r ** 2;
        if (d2 < 1) phase[y * fft.width + x] += peak * Math.sqrt(1 - d2);
      }
  };
  for (let c = 0; c < 60; c++) {
    const [cx, cy, r] = [rng.uniform(0, fft.width), rng.uniform(0, fft.height), rng.uniform(4, 10) / pixelUm];
    dome(cx, cy, r, rng.uniform(0.1, 0.2));
    for (let g = 0; g < 15; g++) dome(cx + rng.uniform(-0.6, 0.6) * r, cy + rng.uniform(-0.6, 0.6) * r, rng.uniform(0.3, 0.8) / pixelUm, rng.uniform(0.05, 0.1));
  }
  const spectrum = fft.forward(phase);
  const writer = new StackWriter(dir);
  await writer.open();
  const noise = new Rng(o.seed + 1);
  const photons = 2000;
  for (let zUm = o.fromUm; zUm <= o.toUm + 1e-9; zUm += o.stepUm) {
    const dz = zUm - o.focusUm;
    const filtered = new Float64Array(spectrum.length);
    for (let ky = 0; ky < fft.height; ky++) {
      const fy = (ky <= fft.height / 2 ? ky : ky - fft.height) / (fft.height * pixelUm);
      for (let kx = 0; kx < fft.halfWidth; kx++) {
        const f2 = (kx / (fft.width * pixelUm)) ** 2 + fy ** 2;
        if (f2 > (na / lambdaUm) ** 2) continue;
        const g = Math.sin(Math.PI * lambdaUm * dz * f2) * Math.exp(-((Math.PI * sigma * na * dz) ** 2) * f2);
        const k = ky * fft.halfWidth + kx;
        filtered[2 * k] = spectrum[2 * k] * g;
        filtered[2 * k + 1] = spectrum[2 * k + 1] * g;
      }
    }
    const contrast = fft.inverse(filtered, { overwriteInput: true });
    const data = new Uint8Array(width * height);
    const [x0, y0] = [(fft.width - width) / 2, (fft.height - height) / 2];
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const mean = photons * Math.max(0, 1 - 2 * contrast[(y + y0) * fft.width + x + x0]);
        const electrons = mean + Math.sqrt(mean + 25) * noise.normal();
        data[y * width + x] = Math.max(0, Math.min(255, Math.round((electrons * 160) / photons)));
      }
    const frame: Frame = { data, width, height, bitDepth: 8, timestampMs: 0 };
    await writer.addPlane(Math.round(zUm * 1000) / 1000, frame);
  }
  await writer.close({ focusUm: o.focusUm, pixelSizeUm: pixelUm, objective: { magnification: 10, na } });
}
