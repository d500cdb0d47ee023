import type { Frame } from "../hardware/camera/types.js";

/**
 * Bins a frame `factor`×`factor` (pixels past the last whole block are dropped). 8-bit frames
 * keep the block sums (exact; up to 8×8 blocks fit 16 bits), deeper frames the rounded block
 * means. The result is a valid Frame with the same timestamp; factor 1 returns the frame itself.
 * @throws RangeError when factor is not an integer in 1…8 or leaves no whole block.
 */
export function binFrame(frame: Frame, factor: number): Frame {
  checkBinningFactor(factor);
  if (factor === 1) return frame;
  const { width, height } = binnedSize(frame, factor);
  if (width < 1 || height < 1) throw new RangeError(`a ${frame.width}×${frame.height} frame has no whole ${factor}×${factor} block`);
  const sum = frame.bitDepth <= 8;
  const area = factor * factor;
  const out = new Uint16Array(width * height);
  const src = frame.data;
  const acc = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let j = 0; j < factor; j++) {
      const row = (y * factor + j) * frame.width;
      for (let x = 0; x < width; x++) {
        const o = row + x * factor;
        for (let i = 0; i < factor; i++) acc[x] += src[o + i];
      }
    }
    for (let x = 0; x < width; x++) out[y * width + x] = sum ? acc[x] : Math.round(acc[x] / area);
  }
  const bitDepth = sum ? Math.min(16, frame.bitDepth + Math.ceil(Math.log2(area))) : frame.bitDepth;
  return { data: out, width, height, bitDepth, timestampMs: frame.timestampMs };
}

/** The size of a `width`×`height` frame binned `factor`×`factor`: whole blocks only. */
export function binnedSize(frame: { width: number; height: number }, factor: number): { width: number; height: number } {
  return { width: Math.floor(frame.width / factor), height: Math.floor(frame.height / factor) };
}

/** @throws RangeError unless `factor` is an integer in 1…8. */
export function checkBinningFactor(factor: number): void {
  if (!Number.isInteger(factor) || factor < 1 || factor > 8) throw new RangeError(`binning factor must be an integer in 1…8, got ${factor}`);
}
