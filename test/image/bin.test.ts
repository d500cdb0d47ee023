import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/hardware/camera/types.js";
import { binFrame } from "../../src/image/bin.js";

const frame = (data: Uint8Array | Uint16Array, width: number, bitDepth: number): Frame => ({ data, width, height: data.length / width, bitDepth, timestampMs: 7 });

describe("binFrame", () => {
  it("8-bit: exact block sums in a deeper frame, partial blocks dropped", () => {
    const f = frame(Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 255, 9, 9, 9, 9]), 4, 8); // 4×3
    const b = binFrame(f, 2);
    expect(b).toMatchObject({ width: 2, height: 1, bitDepth: 10, timestampMs: 7 });
    expect(Array.from(b.data)).toEqual([1 + 2 + 4 + 5, 3 + 255 + 6 + 255]);
    expect(binFrame(f, 1)).toBe(f);
  });

  it("16-bit: rounded block means, bit depth kept", () => {
    const f = frame(Uint16Array.from([65535, 65535, 65535, 65534, 0, 1, 2, 2]), 4, 16); // 4×2
    const b = binFrame(frame(f.data, 2, 16), 2); // 2×4 → 1×2
    expect(b).toMatchObject({ width: 1, height: 2, bitDepth: 16 });
    expect(Array.from(b.data)).toEqual([65535, 1]);
  });

  it("refuses factors outside 1…8 and frames without a whole block", () => {
    const f = frame(new Uint8Array(9), 3, 8);
    expect(() => binFrame(f, 0)).toThrow(RangeError);
    expect(() => binFrame(f, 1.5)).toThrow(RangeError);
    expect(() => binFrame(f, 4)).toThrow(/no whole 4×4 block/);
  });
});
