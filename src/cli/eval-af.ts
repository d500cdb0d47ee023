import type { Command } from "commander";
import { staticPatternWarning, type CalibrationProfile } from "../autofocus/calibration.js";
import { blurGrowthWarning } from "../autofocus/deepfocus.js";
import { classicalRunner, createScorerForMethod, deepfocusRunner, EVAL_METHODS, evaluate, knownStackOptics, parseStarts, resolveCalibration, type EvalReport, type EvalRun, type EvalStack, type EvalSummary, type ScorerFactory } from "../autofocus/evaluate.js";
import type { Config } from "../config/schema.js";
import { blurGrowthPx2PerUm2Of } from "../focus/blur-match.js";
import { ConfigError } from "../errors.js";
import { openStack, planeRangeUm } from "../hardware/zstack.js";
import { configFrom, int, printJson, runCommand } from "./common.js";

export interface EvalAfOptions {
  /** Calibration profile (file or directory with profile.json) or a calibration z-stack; DeepFocus only. */
  calibration?: string;
  stack: string[];
  method: string;
  /** Start offsets from each stack's focusUm: "from:to:step" or one number (µm). */
  starts: string;
  maxImages?: number;
  config?: string;
}

/** The eval-af report for the given options; the scorer comes from `createScorer` (tests inject a synthetic one). */
export async function evalAf(o: EvalAfOptions, createScorer?: ScorerFactory): Promise<EvalReport> {
  if (!(EVAL_METHODS as readonly string[]).includes(o.method)) throw new ConfigError(`unknown method "${o.method}"; expected one of ${EVAL_METHODS.join(", ")}`);
  if (o.stack.length === 0) throw new ConfigError("eval-af needs at least one --stack DIR");
  if (o.method === "deepfocus" && !o.calibration) throw new ConfigError("--method deepfocus needs --calibration (a profile from focusbox calibrate, or a calibration z-stack)");
  const startsUm = parseStarts(o.starts);
  const config = await configFrom(o.config);
  const stacks: EvalStack[] = [];
  for (const name of o.stack) stacks.push({ name, stack: await openStack(name) });
  const method = await (createScorer ?? ((m) => createScorerForMethod(m, config.deepfocus)))(o.method);
  try {
    if (o.method !== "deepfocus") {
      warnStacks(stacks);
      return await evaluate({ method: o.method, stacks, startsUm, scorer: method.scorer, roi: config.autofocus.roi, runnerFor: (s) => classicalRunner(s, config, o.maxImages ?? config.autofocus.maxImages) });
    }
    const profile = await resolveCalibration(o.calibration as string, method, config.autofocus.roi, config.objective);
    const staticPattern = staticPatternWarning(profile);
    if (staticPattern) process.stderr.write(`eval-af: calibration ${o.calibration}: ${staticPattern}\n`);
    warnStacks(stacks, profile, config);
    return await evaluate({ method: o.method, stacks, startsUm, scorer: method.scorer, roi: profile.roi, runnerFor: (s) => deepfocusRunner(profile, o.maxImages ?? config.deepfocus.maxImages, s, config) });
  } finally {
    await method.close();
  }
}

/** Focus this close to an end plane (fraction of the stack's extent) leaves a search too little room on one side. */
const NEAR_END_FRACTION = 0.1;

/**
 * Names on stderr what makes a stack's runs fail for reasons of the stack rather than the method:
 * focus near an end plane (a search confined to the planes refuses an answer at their edge), an
 * objective other than the calibration profile's, optics whose blur matching's k the profile's
 * measured one disagrees with (`blurGrowthWarning`; the runs use the measured k), or no k at all.
 */
function warnStacks(stacks: readonly EvalStack[], profile?: CalibrationProfile, config?: Config): void {
  for (const { name, stack } of stacks) {
    const { focusUm, objective } = stack.manifest;
    const [firstUm, lastUm] = planeRangeUm(stack.manifest);
    const nearFirst = focusUm !== undefined && focusUm - firstUm <= lastUm - focusUm;
    const marginUm = focusUm === undefined ? Infinity : nearFirst ? focusUm - firstUm : lastUm - focusUm;
    if (marginUm >= 0 && marginUm < NEAR_END_FRACTION * (lastUm - firstUm))
      process.stderr.write(`eval-af: ${name}: focus (${focusUm} µm) lies ${Number(marginUm.toFixed(3))} µm from its ${nearFirst ? "first" : "last"} plane: searches confined to the planes may refuse there (sharpest image at their edge); record planes on both sides of focus\n`);
    const p = profile?.objective;
    if (p && objective && (objective.magnification !== p.magnification || objective.na !== p.na))
      process.stderr.write(`eval-af: ${name}: recorded at ${objective.magnification}×/NA ${objective.na}, but the calibration profile "${profile.name}" is for ${p.magnification}×/NA ${p.na}: calibrate with the same objective\n`);
    if (!profile || !config) continue;
    const optics = knownStackOptics(stack, config);
    const blur = blurGrowthWarning(profile.blurGrowthPx2PerUm2, optics);
    if (blur) process.stderr.write(`eval-af: ${name}: with the optics of its manifest (and the config's immersion index), ${blur}\n`);
    if (profile.blurGrowthPx2PerUm2 === undefined && (optics && blurGrowthPx2PerUm2Of(optics.objective, optics.cameraPixelUm)) === undefined)
      process.stderr.write(`eval-af: ${name}: no blur matching (4–10-image runs refuse more and answer worse): its manifest gives no optics (stack import --pixel-size-um --magnification --na) and the profile no measured k (recalibrate with focusbox calibrate)\n`);
  }
}

/**
 * `focusbox eval-af --calibration DIR --stack DIR [--stack DIR …] --method deepfocus|<metric>
 * [--starts -100:100:10] [--max-images N] --json`: every method run from every start on the
 * replay backend of recorded stacks with a known focusUm.
 */
export function registerEvalAf(program: Command): void {
  program
    .command("eval-af")
    .description("evaluate an autofocus method on recorded z-stacks with known focus (replay backend)")
    .requiredOption("--method <m>", `deepfocus or a metric: ${EVAL_METHODS.slice(1).join(", ")}`)
    .option("--stack <dir>", "z-stack directory with focusUm (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--calibration <path>", "DeepFocus calibration profile (or calibration z-stack); ignored by classical methods")
    .option("--starts <spec>", "start offsets from focus, FROM:TO:STEP µm or one number", "-100:100:10")
    .option("--max-images <n>", "image budget per autofocus (verification image included)", int)
    .option("--config <file>", "config file (ROI, classical search settings, objective fallback)")
    .option("--json", "print the JSON report (default: a table)")
    .action((opts: EvalAfOptions & { json?: boolean }) =>
      runCommand(async () => {
        const report = await evalAf(opts);
        warnSkipped(report);
        if (opts.json) return printJson(report);
        for (const r of report.runs) process.stdout.write(`${runLine(r)}\n`);
        const line = (s: EvalSummary): string =>
          `mean |error| ${s.meanAbsErrorUm?.toFixed(3) ?? "–"} ± ${s.sdAbsErrorUm?.toFixed(3) ?? "–"} µm, median ${s.medianImages ?? "–"} images, ${s.failures} failures${s.fallbacks ? `, ${s.fallbacks} answered by the fallback` : ""}`;
        if (report.stacks.length > 1) for (const s of report.stacks) process.stdout.write(`${s.stack}: ${line(s)}\n`);
        process.stdout.write(`${report.method}: ${line(report.summary)}\n`);
      }),
    );
}

/** One run as a line of the eval-af table: its start (also from focus), error or failure, images, and the fallback that answered it. */
export function runLine(r: EvalRun): string {
  const offsetUm = r.startUm - r.focusUm;
  const outcome = r.errorUm === null ? `failed: ${r.error}` : `error ${r.errorUm.toFixed(3).padStart(8)} µm`;
  const fallback = r.fallback ? `, by the ${r.fallback} fallback${r.unconfirmed ? " (not confirmed by the method)" : ""}` : "";
  return `${r.stack}  start ${r.startUm.toFixed(1).padStart(7)} µm (${(offsetUm >= 0 ? "+" : "") + offsetUm.toFixed(1)} from focus)  ${outcome}  ${r.images} images${fallback}`;
}

/** Names on stderr the starts a stack's planes do not cover (they are in the report's `skipped`). */
function warnSkipped(report: EvalReport): void {
  const byStack = new Map<string, number[]>();
  for (const { stack, startUm } of report.skipped) byStack.set(stack, [...(byStack.get(stack) ?? []), startUm]);
  for (const [stack, startsUm] of byStack)
    process.stderr.write(`eval-af: ${stack}: ${startsUm.length} start(s) outside its planes skipped (z = ${startsUm.join(", ")} µm)\n`);
}
