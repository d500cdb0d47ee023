import { fileURLToPath } from "node:url";
import type { Frame } from "../../../src/hardware/camera/types.js";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/**
 * ffmpeg `geq` luma expression of the numbered test pattern: pixels (0,0) and (1,0) hold the
 * frame number N (low and high byte), every other pixel is (x + 3y) mod 200.
 */
export const PATTERN = "if(eq(Y,0)*eq(X,0),mod(N,256),if(eq(Y,0)*eq(X,1),mod(floor(N/256),256),mod(X+3*Y,200)))";

/** Environment for the fixture scripts (they read the pattern from $PATTERN). */
export const FIXTURE_ENV = { ...process.env, PATTERN };

/** ffmpeg arguments writing the numbered pattern as raw frames to stdout, paced at `fps` unless `paced` is false. */
export function patternArgs(o: { width: number; height: number; fps: number; pixFmt: "gray" | "gray16le" | "yuv420p"; padTo?: number; paced?: boolean; frames?: number }): string[] {
  const pad = o.padTo ? `,pad=${o.padTo}:${o.height}:0:0:color=white` : "";
  const planes = o.pixFmt === "yuv420p" ? ":cb=128:cr=128" : "";
  return [
    "-hide_banner", "-nostdin", "-loglevel", "error",
    ...(o.paced === false ? [] : ["-re"]),
    "-f", "lavfi",
    "-i", `nullsrc=s=${o.width}x${o.height}:r=${o.fps},format=${o.pixFmt},geq=lum='${PATTERN}'${planes}${pad}`,
    ...(o.frames ? ["-frames:v", String(o.frames)] : []),
    "-f", "rawvideo", "-pix_fmt", o.pixFmt, "-flush_packets", "1", "-",
  ];
}

/** The source frame number encoded in a pattern frame. */
export function frameNumber(frame: Frame): number {
  return frame.data[0] + 256 * frame.data[1];
}

/** Count of pixels (rows ≥ 1) that differ from the pattern: 0 when stride and planes were read right. */
export function patternErrors(frame: Frame): number {
  let errors = 0;
  for (let y = 1; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      if (frame.data[y * frame.width + x] !== (x + 3 * y) % 200) errors++;
    }
  }
  return errors;
}

/** True while a process with this pid exists (a zombie counts as existing). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
