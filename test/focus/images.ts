/** Deterministic synthetic images for the focus tests. */

/** Mulberry32 PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 3×3 box blur with wrap-around edges (keeps the mean, stationary statistics). */
export function boxBlurWrap(src: ArrayLike<number>, w: number, h: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += src[((y + dy + h) % h) * w + ((x + dx + w) % w)];
      out[y * w + x] = s / 9;
    }
  return out;
}

/** Random texture: white noise box-blurred once (so it has spatial correlation), values in [lo, hi]. */
export function texture(seed: number, w: number, h: number, lo: number, hi: number): Float64Array {
  const r = rng(seed);
  const noise = Float64Array.from({ length: w * h }, () => r());
  const t = boxBlurWrap(noise, w, h);
  const min = Math.min(...t);
  const max = Math.max(...t);
  return t.map((v) => lo + ((v - min) / (max - min)) * (hi - lo));
}

export const toU16 = (a: ArrayLike<number>): Uint16Array => Uint16Array.from(a, (v) => Math.round(v));
export const toU8 = (a: ArrayLike<number>): Uint8Array => Uint8Array.from(a, (v) => Math.round(v));
