/**
 * The refocus network's second input channel for training pairs: the blind Wiener estimate
 * (src/refocus/wiener.ts, the same code the network's inference runs, net.ts) of each pair's
 * defocused input, with the pair's own optics.
 *
 *   tsx scripts/refocus/wiener-channel.ts DIR FROM TO
 *
 * DIR holds `dn.u16` (the pairs' digitised inputs, uint16 little-endian [n, size, size]) and
 * `pairs.json` ({ size, pairs: [{ bits, na, n, wl, mag, px }] }, px = sample-plane pixel µm);
 * writes `wiener-FROM-TO.f32` (float32 little-endian [TO − FROM, size, size], DN, unrounded)
 * for pairs FROM … TO − 1. Where the optics are too coarsely sampled for the spectral estimate
 * (a ConfigError, as at inference) the channel is the input itself.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.js";
import { opticsWiener, type WienerRefocuser } from "../../src/refocus/wiener.js";

interface PairOptics {
  bits: number;
  na: number;
  n: number;
  wl: number;
  mag: number;
  px: number;
}

const [dir, fromArg, toArg] = process.argv.slice(2);
if (!dir || fromArg === undefined || toArg === undefined) throw new Error("usage: wiener-channel.ts DIR FROM TO");
const { size, pairs } = JSON.parse(readFileSync(join(dir, "pairs.json"), "utf8")) as { size: number; pairs: PairOptics[] };
const from = Number(fromArg), to = Number(toArg);
const raw = readFileSync(join(dir, "dn.u16"));
const dn = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)); // little-endian, as every target host
const pixels = size * size;
const out = new Float32Array((to - from) * pixels);
// Pairs share optics (pairs.py draws them from a pool), so each defocus model is built once.
const refocusers = new Map<string, WienerRefocuser | null>();

function refocuserFor(p: PairOptics): WienerRefocuser | null {
  const key = [p.na, p.n, p.wl, p.mag, p.px].join(",");
  if (!refocusers.has(key)) {
    try {
      const objective = { magnification: p.mag, na: p.na, immersionIndex: p.n, wavelengthUm: p.wl };
      refocusers.set(key, opticsWiener(objective, p.px, { tileSize: size }));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      refocusers.set(key, null);
    }
  }
  return refocusers.get(key) ?? null;
}

for (let i = from; i < to; i++) {
  const data = dn.slice(i * pixels, (i + 1) * pixels);
  const frame = { data, width: size, height: size, bitDepth: pairs[i].bits, timestampMs: 0 };
  const wiener = refocuserFor(pairs[i]);
  out.set(wiener ? wiener.filtered(frame).image : data, (i - from) * pixels);
}
writeFileSync(join(dir, `wiener-${from}-${to}.f32`), Buffer.from(out.buffer));
