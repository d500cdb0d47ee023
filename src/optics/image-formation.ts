import type { ObjectiveConfig } from "../config/schema.js";
import { depthOfFieldUm } from "./dof.js";
import { nextPow2, RealFft2d } from "./fft2d.js";
import { LruCache } from "./lru.js";
import { pixelGridOtf, radialOtf } from "./otf.js";
import { weakPhaseTransfer } from "./phase-transfer.js";
import { defocusPsf, psfSupportRadiusUm } from "./psf.js";
import type { Slide } from "./slides.js";

/**
 * Incoherent image formation: image = object ⊛ PSF(z), computed as IFT(FT(object) · OTF(z))
 * on a grid larger than the frame by the PSF's support on each side, so nothing wraps around
 * into the frame; a transparent slide (`Slide.phase`) takes the weak-object transfer function
 * in place of the OTF (src/optics/phase-transfer.ts). Transfer functions are cached per
 * quantised defocus, object spectra per field, and the last noise-free frames per (field,
 * defocus).
 */

/** Largest FFT grid side; beyond it (defocus > ~400 µm at 10×/0.3) the far PSF tail wraps. */
export const MAX_GRID_SIZE = 2048;

/** What to image: a slide window, the optics, the sensor geometry and the defocus. */
export interface IntensityRequest {
  slide: Slide;
  objective: ObjectiveConfig;
  /** Camera pixel pitch on the sensor (µm); the sample-plane pixel is this / magnification. */
  cameraPixelUm: number;
  width: number;
  height: number;
  /** Physical defocus (µm, sample space) at the frame centre: focus-drive position − in-focus position. */
  defocusUm: number;
  /** Slide coordinate (µm) of the frame centre. */
  fieldXUm?: number;
  fieldYUm?: number;
  /** Sample tilt: the in-focus position rises by this many µm per mm towards +x (so defocus falls). */
  tiltUmPerMm?: number;
}

export interface ImageFormationOptions {
  /** Defocus quantum for the OTF cache (µm). Default 0.02. */
  zQuantumUm?: number;
  /** Memory bound of the OTF cache (bytes). Default 64 MB. */
  otfCacheBytes?: number;
  /** Memory bound of the object and object-spectrum caches (bytes each). Default 40 MB. */
  objectCacheBytes?: number;
}

/** Renders noise-free defocused images; keeps its own OTF and object caches (one per microscope). */
export class ImageFormation {
  private readonly zQuantumUm: number;
  private readonly otfs: LruCache<Float32Array>;
  private readonly spectra: LruCache<Float64Array>;
  /** Recent noise-free frames, so grabbing again at the same defocus costs only the noise. */
  private readonly frames = new LruCache<Float32Array>(16e6, (a) => a.byteLength);
  /** The largest object window rendered per field; smaller grids are centre crops of it. */
  private readonly objects: LruCache<{ width: number; height: number; data: Float32Array }>;

  constructor(options: ImageFormationOptions = {}) {
    this.zQuantumUm = options.zQuantumUm ?? 0.02;
    this.otfs = new LruCache(options.otfCacheBytes ?? 64e6, (a) => a.byteLength);
    this.spectra = new LruCache(options.objectCacheBytes ?? 40e6, (a) => a.byteLength);
    this.objects = new LruCache(options.objectCacheBytes ?? 40e6, (a) => a.data.byteLength);
  }

  /**
   * Image intensity (row-major `width × height`, object units: 1 = fully bright) at the
   * requested defocus. With a tilt, the frame is rendered in a few vertical bands, each at
   * its own defocus, blended linearly between band centres.
   */
  intensity(req: IntensityRequest): Float32Array {
    const pixelUm = req.cameraPixelUm / req.objective.magnification;
    const spanUm = ((req.tiltUmPerMm ?? 0) * req.width * pixelUm) / 1000;
    const dof = depthOfFieldUm(req.objective, req.cameraPixelUm);
    const bands = Math.min(8, Math.abs(spanUm) < dof / 4 ? 1 : 1 + Math.ceil(Math.abs(spanUm) / (dof / 2)));
    if (bands === 1) return this.renderAt(req, pixelUm, req.defocusUm).slice();
    const centres = Array.from({ length: bands }, (_, k) => ((k + 0.5) / bands) * req.width - 0.5);
    const images = centres.map((c) => this.renderAt(req, pixelUm, req.defocusUm - ((req.tiltUmPerMm ?? 0) * (c - (req.width - 1) / 2) * pixelUm) / 1000));
    const out = new Float32Array(req.width * req.height);
    for (let x = 0; x < req.width; x++) {
      const u = Math.min(bands - 1, Math.max(0, (x + 0.5) / (req.width / bands) - 0.5));
      const k = Math.min(bands - 2, Math.floor(u));
      const t = u - k;
      for (let y = 0, i = x; y < req.height; y++, i += req.width) out[i] = (1 - t) * images[k][i] + t * images[k + 1][i];
    }
    return out;
  }

  private renderAt(req: IntensityRequest, pixelUm: number, defocusUm: number): Float32Array {
    const zUm = Math.round(defocusUm / this.zQuantumUm) * this.zQuantumUm;
    const marginPx = 2 * Math.ceil(psfSupportRadiusUm(req.objective, zUm) / pixelUm);
    const gridW = Math.min(Math.max(MAX_GRID_SIZE, nextPow2(req.width)), nextPow2(req.width + marginPx));
    const gridH = Math.min(Math.max(MAX_GRID_SIZE, nextPow2(req.height)), nextPow2(req.height + marginPx));
    const fft = new RealFft2d(gridW, gridH);
    const ox = Math.floor((gridW - req.width) / 2);
    const oy = Math.floor((gridH - req.height) / 2);
    const o = req.objective;
    const field = `${req.slide.id}|${req.fieldXUm ?? 0}|${req.fieldYUm ?? 0}|${pixelUm}|${req.width}x${req.height}`;
    const phase = req.slide.phase;
    const transfer = phase ? `phase ${phase.absorptionPerRad}` : "intensity";
    const otfKey = `${transfer}|${o.na}|${o.immersionIndex}|${o.wavelengthUm}|${pixelUm}|${gridW}x${gridH}|${zUm.toFixed(4)}`;
    return this.frames.getOrCreate(`${field}|${otfKey}`, () => {
      const spectrum = this.spectra.getOrCreate(`${field}|${gridW}x${gridH}`, () => fft.forward(this.object(req, field, pixelUm, gridW, gridH)));
      const radial = () => (phase ? weakPhaseTransfer(o, zUm, phase) : radialOtf(defocusPsf(o, zUm)));
      const otf = this.otfs.getOrCreate(otfKey, () => pixelGridOtf(radial(), o, pixelUm, gridW, gridH));
      const product = new Float64Array(spectrum.length);
      for (let i = 0; i < otf.length; i++) {
        product[2 * i] = spectrum[2 * i] * otf[i];
        product[2 * i + 1] = spectrum[2 * i + 1] * otf[i];
      }
      const image = fft.inverse(product, { overwriteInput: true, firstRow: oy, rowCount: req.height });
      const out = new Float32Array(req.width * req.height);
      const [offset, gain] = phase ? [phase.backgroundTransmission, -2 * phase.backgroundTransmission] : [0, 1];
      for (let y = 0; y < req.height; y++) {
        const src = (y + oy) * gridW + ox;
        for (let x = 0; x < req.width; x++) out[y * req.width + x] = Math.max(0, offset + gain * image[src + x]);
      }
      return out;
    });
  }

  /** The object on a `gridW × gridH` grid centred on the frame (rendered, or cropped from a larger cached one). */
  private object(req: IntensityRequest, field: string, pixelUm: number, gridW: number, gridH: number): Float32Array {
    let cached = this.objects.get(field);
    if (!cached || cached.width < gridW || cached.height < gridH) {
      const width = Math.max(gridW, cached?.width ?? 0);
      const height = Math.max(gridH, cached?.height ?? 0);
      const data = new Float32Array(width * height);
      const x0Um = (req.fieldXUm ?? 0) - (Math.floor((width - req.width) / 2) + (req.width - 1) / 2) * pixelUm;
      const y0Um = (req.fieldYUm ?? 0) - (Math.floor((height - req.height) / 2) + (req.height - 1) / 2) * pixelUm;
      req.slide.render(data, { x0Um, y0Um, dxUm: pixelUm, width, height });
      cached = { width, height, data };
      this.objects.set(field, cached);
    }
    if (cached.width === gridW && cached.height === gridH) return cached.data;
    const dx = Math.floor((cached.width - req.width) / 2) - Math.floor((gridW - req.width) / 2);
    const dy = Math.floor((cached.height - req.height) / 2) - Math.floor((gridH - req.height) / 2);
    const out = new Float32Array(gridW * gridH);
    for (let y = 0; y < gridH; y++) out.set(cached.data.subarray((y + dy) * cached.width + dx, (y + dy) * cached.width + dx + gridW), y * gridW);
    return out;
  }
}
