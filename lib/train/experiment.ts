/**
 * Experiments: a named set of runs (one config layer each) over a shared base, at a "quick" size (seconds, CI)
 * or the "reference" size (the committed results the notebooks plot). Each run's records go to
 * `data/results/<size>/<experiment>/<run>.jsonl` with a `meta.json` saying which machine and backend made them
 * and how long they took. Per-step per-parameter gradient norms are kept only for the parameters an analysis
 * names (every step), and for every weight every `fullGradsEvery` steps, so committed results stay small.
 * @module
 */
import { resolveConfig, type TrainConfig } from "./config.ts";
import { train } from "./loop.ts";
import { parseRecords, type RunRecord } from "../metrics/records.ts";
import { writeFileAtomic } from "./atomic.ts";

/** A run of an experiment: its name and the config layer that distinguishes it. */
export interface ExperimentRun {
  name: string;
  config: Record<string, unknown>;
}

/** An experiment file in `data/experiments/<name>.json`. */
export interface Experiment {
  name: string;
  description: string;
  /** Config shared by every run. */
  base: Record<string, unknown>;
  /** Size layers applied after the base. */
  sizes: { quick: Record<string, unknown>; reference: Record<string, unknown> };
  /** The runs. */
  runs: ExperimentRun[];
  /** Parameter-name suffixes whose gradient norms are kept at every step (e.g. "fc2.weight"). */
  keepGrads?: string[];
  /** Keep every weight matrix's gradient norms every this many steps (0: never). */
  fullGradsEvery?: number;
}

/** Size of an experiment. */
export type ExperimentSize = "quick" | "reference";

/** Where an experiment's results live. */
export function resultsDir(root: string, size: ExperimentSize, name: string): string {
  return `${root}/data/results/${size}/${name}`;
}

/** Read and check an experiment file. */
export async function readExperiment(path: string): Promise<Experiment> {
  let exp: Experiment;
  try {
    exp = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`Cannot read experiment "${path}": ${(e as Error).message}`);
  }
  if (typeof exp.name !== "string" || !Array.isArray(exp.runs) || !exp.sizes?.quick || !exp.sizes?.reference) {
    throw new Error(`Cannot use experiment "${path}": expected name, base, sizes.quick, sizes.reference and runs`);
  }
  const names = new Set<string>();
  for (const r of exp.runs) {
    if (!/^[\w.-]+$/.test(r.name ?? "") || names.has(r.name)) {
      throw new Error(
        `Cannot use experiment "${path}": run name ${JSON.stringify(r.name)} is missing, unsafe or repeated`,
      );
    }
    names.add(r.name);
  }
  return exp;
}

/** The resolved config of one run at one size (all are checked before any run starts). */
export function runConfig(exp: Experiment, run: ExperimentRun, size: ExperimentSize): TrainConfig {
  return resolveConfig([exp.base, exp.sizes[size], run.config]);
}

/** Shrink a record for committing: only the kept gradient norms, 4 significant digits. */
export function compactRecord(r: RunRecord, exp: Experiment): RunRecord {
  if (r.kind !== "train" || !r.grads) return r;
  const full = (exp.fullGradsEvery ?? 0) > 0 && r.step % exp.fullGradsEvery! === 0;
  const grads: Record<string, [number, number]> = {};
  for (const [name, [l1, l2]] of Object.entries(r.grads)) {
    const keep = full ? /weight$|c_attn|w_resid/.test(name) : (exp.keepGrads ?? []).some((s) => name.endsWith(s));
    if (keep) grads[name] = [round(l1), round(l2)];
  }
  return { ...r, grads, attnLogitMax: r.attnLogitMax?.map(round) };
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

/** Progress of an experiment. */
export interface ExperimentProgress {
  run: string;
  index: number;
  runs: number;
  step: number;
  steps: number;
  loss: number;
}

/**
 * Run every run of an experiment (or those named in `only`) and write their records and meta.json atomically.
 * A run that diverges (non-finite loss) is kept: its records up to the failure are the result (the LR-ramp
 * experiment is about exactly that), and meta.json notes the stop.
 */
export async function runExperiment(
  exp: Experiment,
  opts: { size: ExperimentSize; outDir: string; only?: string[]; onProgress?: (p: ExperimentProgress) => void },
): Promise<{ dir: string; seconds: number }> {
  const runs = exp.runs.filter((r) => !opts.only?.length || opts.only.includes(r.name));
  const configs = runs.map((r) => runConfig(exp, r, opts.size)); // validate all first
  await Deno.mkdir(opts.outDir, { recursive: true });
  const started = performance.now();
  const meta: Record<string, unknown> = {
    experiment: exp.name,
    size: opts.size,
    date: new Date().toISOString(),
    runs: {},
  };
  for (const [i, run] of runs.entries()) {
    const t0 = performance.now();
    const lines: string[] = [];
    let stop = "done";
    let backend = "";
    try {
      const result = await train({
        config: configs[i],
        onRecord: (r) => lines.push(JSON.stringify(compactRecord(r, exp))),
        onProgress: (p) =>
          opts.onProgress?.({ run: run.name, index: i, runs: runs.length, step: p.step, steps: p.steps, loss: p.loss }),
      });
      backend = result.model.parameters()[0].backend.name;
      result.model.dispose();
      result.optimizer.dispose();
    } catch (e) {
      stop = (e as Error).message;
      if (!/Non-finite/.test(stop)) throw e;
    }
    await writeFileAtomic(`${opts.outDir}/${run.name}.jsonl`, new TextEncoder().encode(lines.join("\n") + "\n"));
    (meta.runs as Record<string, unknown>)[run.name] = {
      seconds: (performance.now() - t0) / 1000,
      stop,
      backend,
      config: configs[i],
    };
  }
  meta.seconds = (performance.now() - started) / 1000;
  meta.machine = machineDescription();
  await writeFileAtomic(`${opts.outDir}/meta.json`, new TextEncoder().encode(JSON.stringify(meta, null, 2) + "\n"));
  return { dir: opts.outDir, seconds: meta.seconds as number };
}

/** CPU model, cores and Deno version, for meta.json. */
export function machineDescription(): string {
  let cpu = "unknown CPU";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/)?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return `${cpu}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
}

/** Read an experiment's results: records per run name, plus meta.json. */
export async function readResults(
  dir: string,
): Promise<{ runs: Record<string, RunRecord[]>; meta: Record<string, unknown> }> {
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
  const runs: Record<string, RunRecord[]> = {};
  for (const name of Object.keys(meta.runs)) {
    runs[name] = parseRecords(await Deno.readTextFile(`${dir}/${name}.jsonl`));
  }
  return { runs, meta };
}
