import { describe, expect, it } from "vitest";
import { nyquistBinning } from "../../src/optics/dof.js";

describe("nyquistBinning", () => {
  it("bins only as far as the binned pixel still samples λ/(4·NA)", () => {
    expect(nyquistBinning(3.45 / 10, 0.3)).toBe(1); // 10×/0.3: already near Nyquist (0.46 µm)
    expect(nyquistBinning(6.45 / 20, 0.45)).toBe(1); // 20×/0.45 widefield
    expect(nyquistBinning(3.45 / 40, 0.75)).toBe(2); // 40×/0.75: 0.086 µm, Nyquist 0.18 µm
    expect(nyquistBinning(1.12 / 40, 0.65)).toBe(4); // a 1.12-µm Pi camera behind 40×/0.65
    expect(nyquistBinning(0.1, 0.5, 0.4)).toBe(2); // shorter wavelength: Nyquist 0.2 µm
  });
});
