import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import ort from "onnxruntime-node";
import { ConfigError } from "../errors.js";

/** Execution providers focusbox knows how to ask onnxruntime-node for, fastest first. */
export type ExecutionProvider = "tensorrt" | "cuda" | "cpu";
export const DEFAULT_EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ["tensorrt", "cuda", "cpu"];

/** Where sessions report which provider they fell back from and which one they use. */
export interface InferenceLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SessionOptions {
  /** Tried in order; the first one whose session can be created is used. Default tensorrt → cuda → cpu. */
  executionProviders?: readonly ExecutionProvider[];
  /** Intra-op threads (onnxruntime's default when omitted: one per core). */
  threads?: number;
  log?: InferenceLog;
}

/** A model file as read for a session: where it is, its bytes, SHA-256 (hex) and weight precision. */
export interface ModelFile {
  modelPath: string;
  bytes: Uint8Array;
  sha256: string;
  precision: "int8" | "fp32";
}

/**
 * Reads the model a config key names: a shipped model by precision ("int8", "fp32" → `shipped`),
 * or the path of an ONNX file. The precision is "int8" when the graph holds DequantizeLinear nodes.
 * @throws ConfigError naming `key` (e.g. "deepfocus.model") when the file cannot be read.
 */
export async function readModel(model: string, shipped: Readonly<Record<"int8" | "fp32", string>>, key: string): Promise<ModelFile> {
  const modelPath = model === "int8" || model === "fp32" ? shipped[model] : model;
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (err) {
    const message = `cannot read the model ${modelPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give "int8", "fp32" or the path of an ONNX file`;
    throw new ConfigError(`${key}: ${message}`, [{ path: key, message }]);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const precision = bytes.includes("DequantizeLinear") ? "int8" : "fp32";
  return { modelPath, bytes, sha256, precision };
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
}

/**
 * Opens an ONNX model with the first execution provider that works. Providers missing from
 * this onnxruntime-node build (`listSupportedBackends()`) are skipped; a provider whose session
 * creation fails (e.g. CUDA libraries absent) is logged and the next one is tried.
 * @throws Error when no provider in the list can run the model.
 */
export async function openSession(model: Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  // onnxruntime's own logger prints every failed provider load to stderr; failures reach us as
  // exceptions and are reported through `log`, so only fatal native messages stay on.
  ort.env.logLevel = "fatal";
  const wanted = opts.executionProviders ?? DEFAULT_EXECUTION_PROVIDERS;
  const available = new Set(ort.listSupportedBackends().map((b) => b.name));
  const failures: string[] = [];
  for (const provider of wanted) {
    if (!available.has(provider)) {
      failures.push(`${provider}: not in this onnxruntime-node build`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
        ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
      });
      if (failures.length) opts.log?.warn({ provider, skipped: failures }, "inference: fell back to the next execution provider");
      opts.log?.info({ provider, threads: opts.threads ?? "default" }, "inference: session open");
      return { session, provider };
    } catch (err) {
      failures.push(`${provider}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`no execution provider could open the model (${failures.join("; ")})`);
}
