/**
 * `npx tsx scripts/bench/psf-pictures.ts DATA_DIR [MODEL…]`: the DeepFocus reading (ROI median
 * blur radius, camera px) of the held-out textures (seed 1) and of four in-focus pictures imaged
 * at 10×/NA 0.3 through each PSF model (Gaussian, Born–Wolf, the simulator's pupil), at
 * |z| = 0…100 µm, against the true blur radius. DATA_DIR is scikit-image's data directory
 * (Debian `python3-skimage`: see docs/benchmarks.md, "Real pictures as slides"); MODEL: "int8",
 * "fp32" or ONNX paths (default int8). Default camera:
 * 512×384 8-bit frames with shot and read noise. Separates what the picture does to the model
 * from what the PSF's shape does (a hard-rimmed defocus disc leaves fine ringing that a smooth
 * Gaussian blur does not).
 */
import { readGrayImage } from "../../src/image/codec.js";
import { configSchema } from "../../src/config/schema.js";
import { createDeepFocusScorer } from "../../src/inference/deepfocus.js";
import { createHeldoutSlide, HELDOUT_TEXTURES } from "../../src/optics/heldout-slides.js";
import { imageSlide } from "../../src/optics/image-slide.js";
import { digitize } from "../../src/optics/noise.js";
import { PSF_MODEL_IDS, PSF_MODELS, PsfImaging } from "../../src/optics/psf-models.js";
import { defaultOptics } from "../../src/optics/render.js";
import { Rng } from "../../src/optics/rng.js";
import { coneTan } from "../../src/optics/psf.js";
import { airyRadiusPx } from "../../src/refocus/psf.js";
import { printTable } from "./table.js";

/** Picture file and its pixel size in the sample plane (µm), as in docs/benchmarks.md. */
const PICTURES: Record<string, [file: string, pixelUm: number]> = {
  ihc: ["ihc.png", 0.3],
  cell: ["cell.png", 0.107],
  hubble: ["hubble_deep_field.jpg", 0.3],
  gravel: ["gravel.png", 0.3],
};
const Z_UM = [0, 10, 20, 35, 50, 75, 100];

const [dataDir, ...models] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: psf-pictures.ts DATA_DIR [MODEL…]");
const { objective, camera } = defaultOptics();
const roi = configSchema.parse({}).autofocus.roi;
const imaging = new PsfImaging({ objective, cameraPixelUm: camera.pixelSizeUm, width: camera.width, height: camera.height, maxDefocusUm: Math.max(...Z_UM) });
const pixelUm = camera.pixelSizeUm / objective.magnification;
/** The model's label: √(r_defocus² + r_Airy²) in camera pixels. */
const truth = Z_UM.map((z) => Math.hypot((z * coneTan(objective)) / pixelUm, airyRadiusPx(objective.wavelengthUm, objective.na, pixelUm)).toFixed(1));
for (const model of models.length ? models : ["int8"]) {
  const scorer = await createDeepFocusScorer({ model, threads: 0 });
  const rows: string[][] = [["truth", "", ...truth]];
  const slides = [
    ...HELDOUT_TEXTURES.map((name) => ({ name, load: async () => createHeldoutSlide(name, 1) })),
    ...Object.entries(PICTURES).map(([name, [file, pixelUm]]) => ({ name, load: async () => imageSlide(await readGrayImage(`${dataDir}/${file}`), pixelUm, name) })),
  ];
  for (const { name, load } of slides) {
    const spectrum = imaging.objectSpectrum(await load());
    for (const psf of PSF_MODEL_IDS) {
      const row = [name, psf];
      for (const [zi, zUm] of Z_UM.entries()) {
        const data = digitize(imaging.intensity(spectrum, imaging.otf(PSF_MODELS[psf], zUm)), camera, new Rng(1000 + zi));
        const s = await scorer.score({ data, width: camera.width, height: camera.height, bitDepth: camera.bitDepth, timestampMs: 0 }, roi);
        row.push(s.score === null ? "–" : s.score.toFixed(1));
      }
      rows.push(row);
    }
  }
  printTable(`DeepFocus reading (px) of held-out textures and pictures through three PSF models, model ${scorer.info.precision} ${scorer.info.sha256.slice(0, 12)}`, ["object", "PSF", ...Z_UM.map((z) => `${z} µm`)], rows);
  await scorer.close();
}
