import { Rng } from "./rng.js";

/**
 * The transmission of dust on a camera's window, per pixel (row-major, width × height; 1 = clear):
 * soft dark shadows that stay where they are and keep their sharpness at any focus. Each speck at a
 * uniform random place darkens by 1 − d·exp(−r²/ρ²), ρ uniform in 3–10 px and depth d in 5–30 %;
 * specks are added until discs of radius ρ would cover `coverage` of the frame. Used by the
 * simulated camera (`microscope.dust`) and `scripts/bench/perturb-stack.ts … dust`
 * (docs/benchmarks.md, "dust on the camera window").
 */
export function dustTransmission(width: number, height: number, coverage: number, rng: Rng): Float32Array {
  const transmission = new Float32Array(width * height).fill(1);
  let coveredPx = 0;
  while (coveredPx < coverage * width * height) {
    const [cx, cy, radiusPx, depth] = [rng.uniform(0, width), rng.uniform(0, height), rng.uniform(3, 10), rng.uniform(0.05, 0.3)];
    coveredPx += Math.PI * radiusPx ** 2;
    const reach = Math.ceil(3 * radiusPx);
    for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(height, cy + reach); y++) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(width, cx + reach); x++) {
        transmission[y * width + x] *= 1 - depth * Math.exp(-((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) / radiusPx ** 2);
      }
    }
  }
  return transmission;
}
