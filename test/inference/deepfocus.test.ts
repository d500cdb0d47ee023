import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import type { Roi } from "../../src/focus/types.js";
import { createDeepFocusScorer, SHIPPED_DEEPFOCUS_MODELS, type DeepFocusScorer } from "../../src/inference/deepfocus.js";
import { configSchema } from "../../src/config/schema.js";
import { roiTiles } from "../../src/focus/tiles.js";
import { createHash } from "node:crypto";

/** The shipped models through onnxruntime-node (no mocks), on a texture the model never saw. */

const SIZE = 384;
const ROI: Roi = { x: 0, y: 0, width: 1, height: 1, cols: 3, rows: 3 };

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Woven pattern: a sum of random plane waves, folded through |sin| (not a training source). */
function texture(seed: number): Float64Array {
  const r = rng(seed);
  const waves = Array.from({ length: 24 }, () => ({ f: 0.03 + 0.25 * r(), a: Math.PI * r(), p: 2 * Math.PI * r() }));
  const img = new Float64Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      let s = 0;
      for (const w of waves) s += Math.cos(2 * Math.PI * w.f * (x * Math.cos(w.a) + y * Math.sin(w.a)) + w.p);
      img[y * SIZE + x] = Math.abs(Math.sin(s));
    }
  return img;
}

/** Separable Gaussian blur (sigma px, clamped edges); a PSF family never used in training. */
function gaussianBlur(img: Float64Array, sigma: number): Float64Array {
  if (sigma === 0) return img;
  const rad = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * rad + 1 }, (_, i) => Math.exp(-((i - rad) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const pass = (src: Float64Array, dx: number, dy: number) => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        let s = 0;
        for (let i = -rad; i <= rad; i++) {
          const xx = Math.min(SIZE - 1, Math.max(0, x + i * dx));
          const yy = Math.min(SIZE - 1, Math.max(0, y + i * dy));
          s += k[i + rad] * src[yy * SIZE + xx];
        }
        out[y * SIZE + x] = s / sum;
      }
    return out;
  };
  return pass(pass(img, 1, 0), 0, 1);
}

/** 12-bit frame: bright-field-like (800 + 2000·img) plus Gaussian noise of SD `noise` DN. */
function frame(img: Float64Array, noise: number, seed = 1): Frame {
  const r = rng(seed);
  const data = new Uint16Array(SIZE * SIZE);
  for (let i = 0; i < data.length; i++) {
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    data[i] = Math.min(4095, Math.max(0, Math.round(800 + 2000 * img[i] + noise * g)));
  }
  return { data, width: SIZE, height: SIZE, bitDepth: 12, timestampMs: 0 };
}

/**
 * Gaussian blur levels (px). The smallest is 1 px: a real microscope image is band-limited by
 * its optics, while the raw folded texture has content up to the pixel Nyquist frequency,
 * which no objective passes (the model rightly calls such a field invalid).
 */
const SIGMAS = [1, 2, 4, 8, 16];

describe("DeepFocus scorer (shipped models)", () => {
  let int8: DeepFocusScorer;
  let fp32: DeepFocusScorer;
  let frames: Frame[];
  beforeAll(async () => {
    int8 = await createDeepFocusScorer({ model: "int8", executionProviders: ["cpu"], threads: 2 });
    fp32 = await createDeepFocusScorer({ model: "fp32", executionProviders: ["cpu"], threads: 2 });
    const tex = texture(7);
    frames = SIGMAS.map((s) => frame(gaussianBlur(tex, s), 6));
  });
  afterAll(async () => {
    await int8?.close();
    await fp32?.close();
  });

  it("reports model path, precision, provider and the file's SHA-256", () => {
    expect(int8.info.precision).toBe("int8");
    expect(fp32.info.precision).toBe("fp32");
    expect(int8.info.provider).toBe("cpu");
    const sha = createHash("sha256").update(readFileSync(SHIPPED_DEEPFOCUS_MODELS.int8)).digest("hex");
    expect(int8.info.sha256).toBe(sha);
    expect(int8.info.modelPath).toBe(SHIPPED_DEEPFOCUS_MODELS.int8);
    expect(int8.id).toBe("deepfocus");
    expect(int8.higherIsSharper).toBe(false);
  });

  it.each([["int8"], ["fp32"]] as const)("%s: score grows with blur on an unseen texture and PSF", async (which) => {
    const scorer = which === "int8" ? int8 : fp32;
    const scores = [];
    for (const f of frames) {
      const s = await scorer.score(f, ROI);
      expect(s.tiles).toHaveLength(9);
      expect(s.valid!.every(Boolean)).toBe(true);
      scores.push(s.score);
    }
    for (let i = 1; i < scores.length; i++) expect(scores[i], `sigma ${SIGMAS[i]} vs ${SIGMAS[i - 1]}: ${scores}`).toBeGreaterThan(scores[i - 1]);
  });

  it("flags an empty field (uniform + noise, and exactly uniform) as invalid: score NaN", async () => {
    for (const noise of [0, 6]) {
      const s = await int8.score(frame(new Float64Array(SIZE * SIZE).fill(0.5), noise, 3), ROI);
      expect(s.valid!.some(Boolean), `noise ${noise}`).toBe(false);
      expect(s.score).toBeNaN();
    }
  });

  /** The frame with a sensor's hot pixels: 0.1 % of the pixels, the same ones in every frame, raised by 1000–4000 DN. */
  const withHotPixels = (f: Frame): Frame => {
    const r = rng(99);
    const data = Uint16Array.from(f.data);
    for (let k = 0; k < 0.001 * data.length; k++) {
      const i = Math.floor(r() * data.length);
      data[i] = Math.min(4095, data[i] + 1000 + Math.round(3000 * r()));
    }
    return { ...f, data };
  };

  it("hot pixels change neither the reading of a blurred texture nor an empty field's invalidity", async () => {
    for (const [i, f] of frames.entries()) {
      const clean = (await int8.score(f, ROI)).score;
      const hot = (await int8.score(withHotPixels(f), ROI)).score;
      expect(Math.abs(hot / clean - 1), `sigma ${SIGMAS[i]}: ${clean} clean, ${hot} with hot pixels`).toBeLessThan(0.03);
    }
    const empty = await int8.score(withHotPixels(frame(new Float64Array(SIZE * SIZE).fill(0.5), 6, 3)), ROI);
    expect(empty.valid!.some(Boolean)).toBe(false);
  });

  it("INT8 scores correlate with fp32 (r ≥ 0.99 over tiles of all blur levels)", async () => {
    const a: number[] = [];
    const b: number[] = [];
    for (const f of frames) {
      a.push(...(await int8.score(f, ROI)).tiles);
      b.push(...(await fp32.score(f, ROI)).tiles);
    }
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const ma = mean(a);
    const mb = mean(b);
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    a.forEach((x, i) => {
      sab += (x - ma) * (b[i] - mb);
      saa += (x - ma) ** 2;
      sbb += (b[i] - mb) ** 2;
    });
    expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThanOrEqual(0.99);
  });

  it("scores a frame smaller than the window and a tile larger than it", async () => {
    const tex = gaussianBlur(texture(11), 2);
    const small: Frame = { ...frame(tex, 6), width: 200, height: 150, data: new Uint16Array(200 * 150) };
    const full = frame(tex, 6);
    for (let y = 0; y < 150; y++) small.data.set(full.data.subarray(y * SIZE, y * SIZE + 200), y * 200);
    for (const [f, roi] of [
      [small, ROI],
      [full, { x: 0, y: 0, width: 1, height: 1, cols: 1, rows: 1 }],
    ] as const) {
      const s = await int8.score(f, roi);
      expect(s.tiles.every(Number.isFinite)).toBe(true);
      expect(s.valid!.every(Boolean)).toBe(true);
    }
  });

  it("tileRegions: the frame pixels each tile's windows cover, inside the frame (a binned scorer's windows scaled back) — what the autofocus cross-check reads", () => {
    const centre: Roi = { x: 0.2, y: 0.2, width: 0.6, height: 0.6, cols: 3, rows: 3 };
    const tiles = roiTiles(512, 384, centre);
    const regions = int8.tileRegions({ width: 512, height: 384 }, centre);
    expect(regions).toHaveLength(9);
    regions.forEach(([r, ...more], i) => {
      const t = tiles[i];
      expect(more).toHaveLength(0);
      expect([r.width, r.height]).toEqual([256, 256]);
      expect(r.x >= 0 && r.y >= 0 && r.x + r.width <= 512 && r.y + r.height <= 384).toBe(true);
      expect(r.x <= t.x && r.y <= t.y && r.x + r.width >= t.x + t.width && r.y + r.height >= t.y + t.height).toBe(true);
    });
    // Binned 2×2 the frame is 256×192, smaller than a window: every tile reads all of it.
    expect(int8.withBinning(2).tileRegions({ width: 512, height: 384 }, centre)[4]).toEqual([{ x: 0, y: 0, width: 512, height: 384 }]);
    // One tile of a 2048² frame: four 256-px windows spread over it.
    const spread = int8.tileRegions({ width: 2048, height: 2048 }, { x: 0, y: 0, width: 1, height: 1, cols: 1, rows: 1 })[0];
    expect(spread.map((r) => [r.width, r.height])).toEqual(Array(4).fill([256, 256]));
  });

  it("scores a tile larger than the window on windows spread over it: texture off the tile's centre counts", async () => {
    // A 1024² frame, one tile (the whole frame): texture only in its top-left 320² corner,
    // flat field + noise elsewhere, so the central window sees no texture.
    const tex = frame(gaussianBlur(texture(13), 2), 6);
    const big = new Uint16Array(1024 * 1024);
    const r = rng(5);
    for (let i = 0; i < big.length; i++) big[i] = Math.round(1800 + 6 * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
    for (let y = 0; y < 320; y++) big.set(tex.data.subarray(y * SIZE, y * SIZE + 320), y * 1024);
    const f: Frame = { data: big, width: 1024, height: 1024, bitDepth: 12, timestampMs: 0 };
    const whole: Roi = { x: 0, y: 0, width: 1, height: 1, cols: 1, rows: 1 };
    const one = await createDeepFocusScorer({ model: "int8", executionProviders: ["cpu"], maxWindowsPerTile: 1, warmupWindows: 0 });
    try {
      expect((await one.score(f, whole)).valid).toEqual([false]);
    } finally {
      await one.close();
    }
    expect(configSchema.parse({}).deepfocus.maxWindowsPerTile).toBe(int8.maxWindowsPerTile);
    const spread = await int8.score(f, whole);
    expect(spread.valid).toEqual([true]);
    // The tile reads the textured window: the blur of that texture in a frame of its own, within 30 %.
    const alone = await int8.score(tex, { x: 0, y: 0, width: 320 / SIZE, height: 320 / SIZE, cols: 1, rows: 1 });
    expect(spread.score / alone.score).toBeGreaterThan(0.7);
    expect(spread.score / alone.score).toBeLessThan(1.3);
  });
});

describe("execution-provider fallback", () => {
  it("ends on cpu when tensorrt and cuda are requested but unavailable, and says so", async () => {
    const warnings: object[] = [];
    const log = { info: () => {}, warn: (o: object) => void warnings.push(o) };
    const scorer = await createDeepFocusScorer({ model: "int8", executionProviders: ["tensorrt", "cuda", "cpu"], threads: 1, log });
    try {
      expect(scorer.info.provider).toBe("cpu");
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toMatch(/tensorrt.*cuda/);
    } finally {
      await scorer.close();
    }
  });

  it("rejects when no requested provider can run the model", async () => {
    await expect(createDeepFocusScorer({ model: "int8", executionProviders: ["tensorrt"] })).rejects.toThrow(/no execution provider/);
  });
});
