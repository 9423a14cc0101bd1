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
import { acquireRunLock } from "./run_lock.ts";

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
  /**
   * Runs of another experiment that this one is compared against, by the name its notebook uses (e.g. the
   * ablations' full NormFormer is a perplexity_vs_compute run with the same config): not re-run here.
   */
  baselines?: { experiment: string; runs: Record<string, string> };
  /**
   * Stop a run at its explosion (`explosionStep`: the first step after `after` whose loss is non-finite or above
   * `factor` × its running minimum), for the LR ramp, where later steps carry no information.
   */
  stopAtExplosion?: { factor: number; after: number };
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
  const act = r.activations;
  const activations = act && {
    fc2In: act.fc2In.map(round),
    fc2OutGrad: act.fc2OutGrad.map(round),
    attnOut: act.attnOut.map(round),
    stream: act.stream.map(round),
  };
  return { ...r, grads, attnLogitMax: r.attnLogitMax?.map(round), ...(activations ? { activations } : {}) };
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

/** What meta.json says of one run. */
export interface RunMeta {
  /** Wall-clock seconds of the run (training, evaluation and data loading). */
  seconds: number;
  /** "done", the message of the non-finite stop that ended it, or "exploded at step N: …" (`stopAtExplosion`). */
  stop: string;
  /** Backend the run used. */
  backend: string;
  /** CPU threads of the process that ran it. */
  threads: number;
  /** The resolved config. */
  config: TrainConfig;
}

/**
 * Run every run of an experiment (or those named in `only`), writing each run's records and its meta.json entry
 * atomically as it finishes, so an interrupted sweep keeps every finished run. With `resume`, a run whose
 * records and meta.json entry exist with the same config is skipped. Several processes may run disjoint runs
 * of one experiment at once: meta.json is merged under a lock file. A run that diverges (non-finite loss) is
 * kept: its records up to the failure are the result (the LR-ramp experiment is about exactly that), and
 * meta.json notes the stop.
 */
export async function runExperiment(
  exp: Experiment,
  opts: {
    size: ExperimentSize;
    outDir: string;
    only?: string[];
    resume?: boolean;
    threads?: number;
    onProgress?: (p: ExperimentProgress) => void;
    onSkip?: (run: string) => void;
  },
): Promise<{ dir: string; seconds: number; ran: string[] }> {
  const runs = selectRuns(exp, opts.only);
  const configs = runs.map((r) => runConfig(exp, r, opts.size)); // validate all first
  await Deno.mkdir(opts.outDir, { recursive: true });
  const started = performance.now();
  const ran: string[] = [];
  for (const [i, run] of runs.entries()) {
    if (opts.resume && await isComplete(opts.outDir, run.name, configs[i])) {
      opts.onSkip?.(run.name);
      continue;
    }
    // One writer per run: a second process (or call) asked for the same run meanwhile is refused, naming the holder.
    const lock = await lockRun(`${opts.outDir}/.locks/${run.name}`, `experiment ${exp.name} ${run.name}`);
    try {
      await runOne(exp, run, configs[i], i, runs.length, opts);
    } finally {
      await lock.release();
    }
    ran.push(run.name);
  }
  return { dir: opts.outDir, seconds: (performance.now() - started) / 1000, ran };
}

/**
 * Take a run's lock. The lock folder is removed when its holder releases it, so a second process that created the
 * folder just before that removal finds it gone (NotFound): it tries again, and then either holds the lock or is
 * refused by the new holder.
 */
async function lockRun(dir: string, command: string) {
  for (let tries = 1;; tries++) {
    try {
      return await acquireRunLock(dir, command);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || tries >= 20) throw e;
    }
  }
}

/** Train one run and write its records and meta.json entry. */
async function runOne(
  exp: Experiment,
  run: ExperimentRun,
  config: TrainConfig,
  index: number,
  count: number,
  opts: { size: ExperimentSize; outDir: string; threads?: number; onProgress?: (p: ExperimentProgress) => void },
): Promise<void> {
  const t0 = performance.now();
  const lines: string[] = [];
  let stop = "done";
  let backend = "";
  const watch = exp.stopAtExplosion ? explosionWatch(exp.stopAtExplosion) : null;
  try {
    const result = await train({
      config,
      signal: watch?.signal,
      onRecord: (r) => {
        lines.push(JSON.stringify(compactRecord(r, exp)));
        watch?.see(r);
      },
      onProgress: (p) =>
        opts.onProgress?.({ run: run.name, index, runs: count, step: p.step, steps: p.steps, loss: p.loss }),
    });
    if (watch?.exploded) stop = watch.exploded;
    backend = result.model.parameters()[0].backend.name;
    result.model.dispose();
    result.optimizer.dispose();
  } catch (e) {
    stop = (e as Error).message;
    if (!/Non-finite/.test(stop)) throw e;
  }
  await writeFileAtomic(`${opts.outDir}/${run.name}.jsonl`, new TextEncoder().encode(lines.join("\n") + "\n"));
  const entry: RunMeta = {
    seconds: (performance.now() - t0) / 1000,
    stop,
    backend,
    threads: opts.threads ?? 0,
    config,
  };
  await updateMeta(opts.outDir, exp, opts.size, run.name, entry);
}

/** Watch train records for an explosion (as `explosionStep` defines it) and abort the run at it. */
function explosionWatch({ factor, after }: { factor: number; after: number }) {
  const abort = new AbortController();
  let min = Infinity;
  const watch = {
    signal: abort.signal,
    exploded: "",
    see(r: RunRecord) {
      if (r.kind !== "train" || watch.exploded) return;
      if (r.step > after && r.loss > factor * min) {
        watch.exploded = `exploded at step ${r.step}: loss ${r.loss.toPrecision(4)} > ${factor} × minimum ${
          min.toPrecision(4)
        }`;
        abort.abort();
      }
      min = Math.min(min, r.loss);
    },
  };
  return watch;
}

/** The runs named in `only` (all when empty); an unknown name is an error naming the choices. */
export function selectRuns(exp: Experiment, only?: string[]): ExperimentRun[] {
  if (!only?.length) return exp.runs;
  const unknown = only.filter((n) => !exp.runs.some((r) => r.name === n));
  if (unknown.length) {
    throw new Error(
      `Unknown run ${JSON.stringify(unknown[0])} in experiment ${exp.name}: expected one of ${
        exp.runs.map((r) => r.name).join(", ")
      }`,
    );
  }
  return exp.runs.filter((r) => only.includes(r.name));
}

/** Whether a run's records and meta.json entry exist and were made with `config`. */
export async function isComplete(dir: string, run: string, config: TrainConfig): Promise<boolean> {
  const meta = await readMeta(dir);
  const entry = (meta?.runs as Record<string, RunMeta> | undefined)?.[run];
  if (!entry || JSON.stringify(entry.config) !== JSON.stringify(config)) return false;
  try {
    return (await Deno.stat(`${dir}/${run}.jsonl`)).isFile;
  } catch {
    return false;
  }
}

async function readMeta(dir: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read "${dir}/meta.json": ${(e as Error).message}`);
  }
}

/**
 * Add one run's entry to meta.json under `meta.lock` (created exclusively; a lock older than a minute is left by
 * a killed process and is taken over). `seconds` is the sum over runs: the experiment's CPU-process time.
 */
async function updateMeta(dir: string, exp: Experiment, size: ExperimentSize, run: string, entry: RunMeta) {
  const lock = `${dir}/meta.lock`;
  for (let tries = 0;; tries++) {
    try {
      (await Deno.open(lock, { write: true, createNew: true })).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const age = Date.now() - ((await Deno.stat(lock).catch(() => null))?.mtime?.getTime() ?? Date.now());
      if (age > 60_000) await Deno.remove(lock).catch(() => {});
      else await new Promise((r) => setTimeout(r, 50 + 10 * Math.min(tries, 20)));
    }
  }
  try {
    const meta = await readMeta(dir) ?? {};
    const runs = { ...(meta.runs as Record<string, RunMeta> | undefined ?? {}), [run]: entry };
    const ordered = Object.fromEntries(exp.runs.filter((r) => runs[r.name]).map((r) => [r.name, runs[r.name]]));
    const seconds = Object.values(ordered).reduce((s, r) => s + r.seconds, 0);
    const out = {
      experiment: exp.name,
      size,
      date: new Date().toISOString(),
      seconds,
      machine: machineDescription(),
      runs: ordered,
    };
    await writeFileAtomic(`${dir}/meta.json`, new TextEncoder().encode(JSON.stringify(out, null, 2) + "\n"));
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
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
