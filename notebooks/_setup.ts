/**
 * What every analysis notebook does first: pick the backend, locate the committed reference results of its
 * experiment, and offer a re-run. `NK_NOTEBOOK_SIZE=quick` (CI) re-runs the experiment at its quick size in a
 * temporary folder; `NK_RERUN=1` re-runs the reference size in place (as `deno task experiment <name>` does).
 * @module
 */
import { init } from "../lib/core/init.ts";
import { readExperiment, readResults, resultsDir, runExperiment } from "../lib/train/experiment.ts";
import type { RunRecord } from "../lib/metrics/records.ts";

const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Results of an experiment: records per run, and its meta.json. */
export type Results = { runs: Record<string, RunRecord[]>; meta: Record<string, unknown> };

/** Set up a notebook for experiment `name`. */
export async function notebookSetup(name: string): Promise<{
  quick: boolean;
  rerunRequested: boolean;
  results: string;
  rerun: () => Promise<Results>;
}> {
  const quick = Deno.env.get("NK_NOTEBOOK_SIZE") === "quick";
  const rerunRequested = Deno.env.get("NK_RERUN") === "1";
  await init({ backend: "cpu", seed: 1 });
  const exp = await readExperiment(`${root}/data/experiments/${name}.json`);
  const results = resultsDir(root, "reference", name);
  const rerun = async () => {
    const size = quick ? "quick" : "reference";
    const outDir = quick ? `${await Deno.makeTempDir()}/${name}` : results;
    await runExperiment(exp, { size, outDir });
    return await readResults(outDir);
  };
  return { quick, rerunRequested, results, rerun };
}

/** One line describing how a reference run was configured (from meta.json, so the text never drifts). */
export function describeRun(results: Results, run = Object.keys(results.runs)[0]): string {
  const info = (results.meta.runs as Record<string, { config: Record<string, unknown>; seconds: number }>)[run];
  const c = info.config;
  const lr = c.schedule === "ramp"
    ? `lr = ${c.rampK}·step`
    : `${c.schedule} schedule, peak lr ${c.lr}, warm-up ${c.warmup}`;
  return `${run}: L=${c.layers} d=${c.dModel} H=${c.heads} F=${c.dFF} T=${c.contextLength} B=${c.batchSize}, ${c.steps} steps, ` +
    `${lr}, ${c.tokenizer} tokens of ${c.corpus}, seed ${c.seed}; ${
      info.seconds.toFixed(0)
    } s on ${results.meta.machine} (backend cpu)`;
}

/** Display names of the architectures. */
export const ARCH_LABEL: Readonly<Record<string, string>> = {
  postln: "Post-LN",
  preln: "Pre-LN",
  normformer: "NormFormer",
};

/** A run's resolved config, from meta.json. */
export function configOf(results: Results, run: string): Record<string, unknown> {
  const info = (results.meta.runs as Record<string, { config: Record<string, unknown> }>)[run];
  if (!info) throw new Error(`No run "${run}" in the results of ${results.meta.experiment}`);
  return info.config;
}

/** Names of the runs whose config has every given value (e.g. `{ arch: "preln", lr: 3e-3 }`), in file order. */
export function runsWhere(results: Results, match: Record<string, unknown>): string[] {
  return Object.keys(results.runs).filter((n) =>
    Object.entries(match).every(([k, v]) => configOf(results, n)[k] === v)
  );
}

/** The distinct values of a config key over the runs, sorted. */
export function valuesOf(results: Results, key: string): number[] {
  return [...new Set(Object.keys(results.runs).map((n) => configOf(results, n)[key] as number))].sort((a, b) => a - b);
}

/** A legend label naming the arch, the LR and the seed: "NormFormer, lr 3e-3, seed 1". */
export function runLabel(results: Results, run: string): string {
  const c = configOf(results, run);
  return `${ARCH_LABEL[c.arch as string] ?? c.arch}, lr ${fmtLr(c.lr as number)}, seed ${c.seed}`;
}

/** 0.003 → "3e-3". */
export function fmtLr(lr: number): string {
  return lr.toExponential(0).replace("e-", "e-").replace("+", "");
}

/** "2.4123 ± 0.0081" (n = 3). */
export function fmtMeanStd(s: { mean: number; std: number; n: number }, digits = 4): string {
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
}
