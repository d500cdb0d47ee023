import { describe, expect, it } from "vitest";
import { blurDifferencePx2, blurGrowthPx2PerUm2Of, blurMatchFocusUm, blurThumb, measureBlurGrowthPx2PerUm2, pupilGrowthFactor, splitThumbs, thumbDetail, type BlurThumb } from "../../src/focus/blur-match.js";
import type { Frame } from "../../src/hardware/camera/types.js";
import { createHeldoutSlide, type HeldoutTexture } from "../../src/optics/heldout-slides.js";
import { digitize } from "../../src/optics/noise.js";
import { PSF_MODELS, PsfImaging, type PsfModelId } from "../../src/optics/psf-models.js";
import { defaultOptics } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";
import { correlation } from "../../src/focus/stats.js";

// Textures and PSF models the project never trains on: blur matching must not care which.
const { objective, camera } = defaultOptics();
const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width: camera.width, height: camera.height, maxDefocusUm: 100 });
const growth = blurGrowthPx2PerUm2Of(objective, camera.pixelSizeUm)!;

/** The field at `zUm`, slid sideways by (dx, dy) camera px (edges repeated), as a focus drive that does not travel along the axis shows it. */
function thumbAt(texture: HeldoutTexture, psf: PsfModelId, zUm: number, dxPx = 0, dyPx = 0): BlurThumb {
  const { width, height } = camera;
  const frame = digitize(imaging.intensity(imaging.objectSpectrum(createHeldoutSlide(texture, 2)), imaging.otf(PSF_MODELS[psf], zUm)), camera, new Rng(500 + Math.round(zUm)));
  const clamp = (v: number, n: number): number => Math.min(n - 1, Math.max(0, v));
  const data = frame.map((_, k) => frame[clamp(Math.floor(k / width) - dyPx, height) * width + clamp((k % width) - dxPx, width)]);
  return blurThumb({ data, width, height, bitDepth: camera.bitDepth, timestampMs: 0 })!;
}

describe("blur matching (depth from defocus)", () => {
  it("reads the blur difference of two images of one field, signed, and none between an image and itself", () => {
    const near = thumbAt("pollen", "born-wolf", 10);
    const far = thumbAt("pollen", "born-wolf", 40);
    const expected = growth * (40 ** 2 - 10 ** 2);
    expect(blurDifferencePx2(near, far) / expected).toBeGreaterThan(0.75);
    expect(blurDifferencePx2(near, far) / expected).toBeLessThan(1.25);
    expect(blurDifferencePx2(far, near)).toBeCloseTo(-blurDifferencePx2(near, far), 6);
    expect(Math.abs(blurDifferencePx2(near, near))).toBeLessThan(0.5);
  });

  it("reads the same blur difference when the field slides sideways between the two images", () => {
    const expected = growth * (40 ** 2 - 10 ** 2);
    // 8, 12 and 6 µm in the sample at 10× (0.345 µm per camera px), not whole thumbnail pixels (8 camera px); unregistered, these read 1.6–2.0× the difference.
    const slides: [HeldoutTexture, number, number][] = [
      ["diatoms", 21, -11],
      ["usaf", 30, 15],
      ["pollen", -9, 14],
    ];
    for (const [texture, dxPx, dyPx] of slides) {
      const near = thumbAt(texture, "born-wolf", 10);
      const ratio = blurDifferencePx2(near, thumbAt(texture, "born-wolf", 40, dxPx, dyPx)) / expected;
      expect(ratio, `${texture} slid by (${dxPx}, ${dyPx}) px`).toBeGreaterThan(0.75);
      expect(ratio, `${texture} slid by (${dxPx}, ${dyPx}) px`).toBeLessThan(1.25);
      // The same plane slid: no blur between them (unregistered: half the 10–40 µm difference).
      expect(Math.abs(blurDifferencePx2(near, thumbAt(texture, "born-wolf", 10, dxPx, dyPx)))).toBeLessThan(0.1 * expected);
    }
  });

  it("finds focus from three images 36 µm apart, 50–60 µm out, on periodic, sparse and dense textures through Born–Wolf and Gaussian PSFs", () => {
    const cases: [HeldoutTexture, PsfModelId, number][] = [
      ["mesh", "born-wolf", -60],
      ["usaf", "gaussian", 50],
      ["diatoms", "born-wolf", 55],
      ["pollen", "gaussian", -50],
    ];
    for (const [texture, psf, startUm] of cases) {
      // Focus at 0: the triple's nearest image is 14–24 µm from it (2–3 DOF), its farthest 86–96 µm.
      const images = [-36, 0, 36].map((d) => ({ zUm: startUm + d, thumb: thumbAt(texture, psf, startUm + d) }));
      const focusUm = blurMatchFocusUm(images, growth)!;
      // Closer to focus than any of its images, and within 10 µm (1.4 DOF) of it.
      const nearestUm = Math.min(...images.map((p) => Math.abs(p.zUm)));
      expect(Math.abs(focusUm), `${texture} through ${psf} from ${startUm} µm read focus at ${focusUm.toFixed(1)} µm`).toBeLessThan(Math.min(10, nearestUm));
    }
  });

  it("reads the same focus from three images of a field that slides sideways as z changes", () => {
    // 0.3 camera px per µm of z along x, half that along y (0.1 µm per µm): the triple's neighbours lie 12 px apart, its outer pair 24.
    const cases: [HeldoutTexture, PsfModelId, number][] = [
      ["pollen", "gaussian", -50],
      ["diatoms", "gaussian", -30],
      ["usaf", "gaussian", 50],
    ];
    for (const [texture, psf, startUm] of cases) {
      const focusUm = (slidePxPerUm: number): number =>
        blurMatchFocusUm(
          [-36, 0, 36].map((d) => startUm + d).map((zUm) => ({ zUm, thumb: thumbAt(texture, psf, zUm, Math.round(slidePxPerUm * zUm), Math.round((slidePxPerUm / 2) * zUm)) })),
          growth,
        )!;
      // Unregistered, these read 17.5, 11.5 and 4.6 µm away from the unslid field's focus.
      expect(Math.abs(focusUm(0.3) - focusUm(0)), `${texture} through ${psf} from ${startUm} µm`).toBeLessThan(1);
    }
  });

  it("measures k on a calibration sweep as the optics give it, through a Born–Wolf PSF; too short a sweep gives none", () => {
    // The calibration's first spacing (36 µm) and reach (its FWHM, ~63 µm) at 10×/NA 0.3.
    const sweep = Array.from({ length: 17 }, (_, i) => -96 + 12 * i).map((zUm) => ({ zUm, thumb: thumbAt("diatoms", "born-wolf", zUm) }));
    const k = measureBlurGrowthPx2PerUm2(sweep, 0, 36, 63)!;
    expect(k / growth).toBeGreaterThan(0.85);
    expect(k / growth).toBeLessThan(1.15);
    // The autofocus's 2·FWHM spacing of a long sweep: read 37.8 µm apart instead (centres 24–60 µm out).
    const wide = measureBlurGrowthPx2PerUm2(sweep, 0, 126, 63)!;
    expect(wide / growth).toBeGreaterThan(0.85);
    expect(wide / growth).toBeLessThan(1.15);
    // ±36 µm: triples 36 µm apart fit only centred at focus, where they read no k.
    expect(measureBlurGrowthPx2PerUm2(sweep.filter((p) => Math.abs(p.zUm) <= 36), 0, 36, 63)).toBeUndefined();
  });

  it("needs three images of one size, light, and possible optics", () => {
    const a = thumbAt("diatoms", "gaussian", 0);
    expect(blurMatchFocusUm([{ zUm: 0, thumb: a }, { zUm: 10, thumb: a }], growth)).toBeNull();
    const small = blurThumb({ data: new Uint8Array(32 * 24).fill(9), width: 32, height: 24, bitDepth: 8, timestampMs: 0 })!;
    expect(() => blurDifferencePx2(a, small)).toThrow(/same size/);
    expect(blurThumb({ data: new Uint8Array(640 * 480), width: 640, height: 480, bitDepth: 8, timestampMs: 0 })).toBeNull();
    expect(blurGrowthPx2PerUm2Of(objective, 0)).toBeUndefined();
    // NA 1.4 without its oil (immersion index 1): no such cone.
    expect(blurGrowthPx2PerUm2Of({ ...objective, magnification: 60, na: 1.4, immersionIndex: 1 }, camera.pixelSizeUm)).toBeUndefined();
    expect(blurGrowthPx2PerUm2Of({ ...objective, magnification: 60, na: 1.4, immersionIndex: 1.515 }, camera.pixelSizeUm)).toBeGreaterThan(0);
    // A defocused pupil's second moment against the uniform disc's: near 1 at low NA, far below at high NA.
    expect(pupilGrowthFactor({ na: 0.3, immersionIndex: 1 })).toBeCloseTo(0.969, 3);
    expect(pupilGrowthFactor({ na: 1.4, immersionIndex: 1.515 })).toBeCloseTo(0.429, 3);
    expect(pupilGrowthFactor({ na: 0.01, immersionIndex: 1 })).toBeCloseTo(1, 3);
  });
});

describe("split thumbnails (two halves of disjoint pixels)", () => {
  /** A 16-bit frame: a smooth pattern of amplitude `signal` on 20 000 DN, plus Gaussian noise of SD `noise` DN. */
  function frame(width: number, height: number, signal: number, noise: number): Frame {
    const rng = new Rng(3);
    const data = new Uint16Array(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data[y * width + x] = Math.round(20_000 + signal * Math.sin(x / 9) * Math.cos(y / 13) + noise * rng.normal());
    return { data, width, height, bitDepth: 16, timestampMs: 0 };
  }

  it.each([
    [512, 384, 2],
    [768, 576, 3],
  ])("a %i×%i frame: both halves show the same structure (binning %i), and their noise is independent", (width, height, binning) => {
    const smooth = splitThumbs(frame(width, height, 2000, 0))!;
    expect(smooth[0].binning).toBe(binning);
    // Odd bins hold one pixel more of one half than the other, alternately: the halves must still agree pixel for pixel.
    for (let i = 0; i < smooth[0].pixels.length; i++) expect(smooth[0].pixels[i]).toBeCloseTo(smooth[1].pixels[i], 2);
    const noisy = splitThumbs(frame(width, height, 0, 200))!;
    const [a, b] = [thumbDetail(noisy[0], 2), thumbDetail(noisy[1], 2)];
    expect(Math.abs(correlation(a, b))).toBeLessThan(0.05);
  });
});
