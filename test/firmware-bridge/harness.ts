import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const FIRMWARE_DIR = resolve(import.meta.dirname, "../../firmware-bridge");
export const F_CPU = 16_000_000;

const TOOLS = "gcc-avr avr-libc simavr libsimavr-dev libelf-dev pkg-config";

/** Builds firmware + harness with make; fails loudly (never skips) when the toolchain is missing. */
export function buildFirmware(): void {
  for (const tool of ["make", "flock", "avr-gcc", "cc", "pkg-config"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "pipe" });
    } catch {
      throw new Error(`firmware-bridge tests need "${tool}": apt-get install ${TOOLS}`);
    }
  }
  try {
    // test files build in parallel: flock serialises the two makes
    mkdirSync(join(FIRMWARE_DIR, "build"), { recursive: true });
    execFileSync("flock", [join(FIRMWARE_DIR, "build/.lock"), "make", "-s", "-C", FIRMWARE_DIR], { stdio: "pipe" });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`make -C firmware-bridge failed (packages needed: ${TOOLS}):\n${stderr}`);
  }
}

/** One STEP pulse seen by the harness: times in MCU cycles. */
export interface Pulse {
  t: number;
  w: number;
  dir: 0 | 1;
  ds: number;
  en: 0 | 1;
  ph: number;
}

/** The simavr harness process (firmware-bridge/harness/harness.c) and its stdin/stdout command channel. */
export class Harness {
  readonly ptyPath: Promise<string>;
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly replies: ((line: string) => void)[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "fb-harness-"));
  private stderr = "";

  constructor() {
    this.proc = spawn(join(FIRMWARE_DIR, "build/harness"), [join(FIRMWARE_DIR, "build/focusbox-bridge.elf")]);
    this.proc.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    const lines = createInterface({ input: this.proc.stdout });
    this.ptyPath = new Promise((resolvePty, reject) => {
      this.proc.once("exit", (code) => reject(new Error(`harness exited (${code}): ${this.stderr}`)));
      lines.on("line", (line) => {
        if (line.startsWith("pty ")) resolvePty(line.slice(4));
        else if (/^(ok|error)\b/.test(line)) this.replies.shift()?.(line);
      });
    });
  }

  /** Sends a harness command; resolves with its reply line. */
  command(line: string): Promise<string> {
    return new Promise((resolveReply, reject) => {
      this.replies.push((reply) => (reply.startsWith("ok") ? resolveReply(reply) : reject(new Error(reply))));
      this.proc.stdin.write(`${line}\n`);
    });
  }

  /** STEP pulses recorded since the last `clearPulses()`. */
  async pulses(): Promise<Pulse[]> {
    const file = join(this.dir, "pulses.jsonl");
    await this.command(`pulses ${file}`);
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Pulse);
  }

  async clearPulses(): Promise<void> {
    await this.command("clear");
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    if (this.proc.exitCode === null) this.proc.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` until true or fails after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
