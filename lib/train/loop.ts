/**
 * The training loop: seeded batches, forward + backward, global grad norm (and clipping), AdamW with the
 * configured schedule, a metrics record per step, evaluation every N steps, atomic checkpoints, exact resume,
 * and a clear stop on a non-finite loss or gradient.
 * @module
 */
import { concat } from "../core/ops_shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { tensor } from "../core/create.ts";
import { getRng, setRng, tidyAsync } from "../core/runtime.ts";
import { Rng } from "../core/rng.ts";
import { type ForwardStats, NormFormerLM, rms } from "../model/normformer.ts";
import { trainingFlopsPerToken } from "../model/sizing.ts";
import { readScaleValues, setLearnedScales } from "../model/scale_init.ts";
import { AdamW, isNormOrScale } from "../optim/adamw.ts";
import { clipGradNorm, gradNorm } from "../optim/clip.ts";
import { lrAt } from "../optim/schedule.ts";
import type { OnDataProgress } from "../data/progress.ts";
import { BatchSampler, type BatchSamplerState } from "../data/sampler.ts";
import { gradNorms } from "../metrics/grad_stats.ts";
import { learnedScales } from "../metrics/scales.ts";
import type { EvalRecord, RunRecord, TrainRecord } from "../metrics/records.ts";
import { writeFileAtomic } from "./atomic.ts";
import {
  type Checkpoint,
  CheckpointError,
  checkResumable,
  isCurrentCheckpoint,
  loadCheckpoint,
  restoreCheckpoint,
  type RunState,
  saveCheckpoint,
  settleCheckpoint,
} from "./checkpoint.ts";
import { acquireRunLock, type RunLock, runLockError, runLockHolder } from "./run_lock.ts";
import { checkResumeChanges, CONFIG_HISTORY_FILE, configChanges, type ConfigHistoryEntry } from "./resume.ts";
import { ConfigError, type TrainConfig } from "./config.ts";
import { openTrainingData, type TrainingData } from "./data.ts";
import { evaluate } from "./evaluate.ts";
import { MetricsLog } from "./metrics_log.ts";

/** Progress of a run, for a progress bar. */
export interface TrainProgress {
  /** Updates done. */
  step: number;
  /** Updates the run will do. */
  steps: number;
  /** Loss of the last update. */
  loss: number;
  /** Learning rate of the last update. */
  lr: number;
  /** Training throughput so far. */
  tokensPerSecond: number;
  /** Estimated seconds to the end of the run. */
  etaSeconds: number;
}

/** Options of `train`. */
export interface TrainOptions {
  /** The resolved configuration. */
  config: TrainConfig;
  /** Folder for metrics.jsonl, config.json and checkpoint/ (null: keep nothing on disk). */
  runDir?: string | null;
  /**
   * Continue from runDir/checkpoint. `config` must equal the checkpoint's own config except for
   * `RESUMABLE_KEYS` (see `resumeConfig`); each change is appended to runDir/config-history.jsonl, and a checkpoint
   * with the new config is saved before the first step.
   */
  resume?: boolean;
  /**
   * The run folder's lock, already taken by the caller (the CLI takes it before its own writes); it stays held
   * when `train` returns. Without it, `train` takes runDir's lock itself and releases it when it returns.
   */
  lock?: RunLock;
  /** Every record, as it is written. */
  onRecord?: (r: RunRecord) => void;
  /** After each step. */
  onProgress?: (p: TrainProgress) => void;
  /** Data preparation messages. */
  onData?: OnDataProgress;
  /** Abort (Ctrl-C): the loop saves a checkpoint and returns. */
  signal?: AbortSignal;
  /** Data already opened for this config (the CLI opens it first to reject a bad corpus before writing). */
  data?: TrainingData;
  /** With `resume`: the checkpoint already loaded from runDir/checkpoint (the CLI loads it first, for the same reason). */
  checkpoint?: Checkpoint;
  /** Test hook that may replace the loss before backward (fault injection: `(s, loss) => loss.add(NaN)`). */
  afterForward?: (step: number, loss: Tensor) => Tensor;
  /** Test hook called after backward, before the update (fault injection). */
  afterBackward?: (step: number, model: NormFormerLM) => void;
}

/** How a run ended. */
export interface TrainResult {
  /** The trained model (still on the device). */
  model: NormFormerLM;
  /** The optimizer with its moments. */
  optimizer: AdamW;
  /** The data the run read. */
  data: TrainingData;
  /** Updates done. */
  step: number;
  /** "done" after all steps, "interrupted" after an abort (a checkpoint was saved). */
  stopped: "done" | "interrupted";
  /** The last evaluation record, if any (it may be older than `step`: an interrupted run stops between evals). */
  lastEval: EvalRecord | null;
  /** Seconds of training over the whole run, resumed parts included (what metrics.jsonl's `time` counts). */
  time: number;
  /** Tokens trained on over the whole run. */
  tokens: number;
}

/**
 * Thrown when the loss or a gradient is NaN or infinite and skipping is off. The message names the step, what was
 * non-finite (the loss; else the first parameter whose gradient is; else the global gradient norm, which
 * overflowed) and the last good checkpoint to resume from.
 */
export class NonFiniteError extends Error {
  /**
   * The step; the first parameter whose gradient was non-finite (null when the loss was, or when only the global
   * norm overflowed); the last good checkpoint folder and its step (null when none was written).
   */
  constructor(
    readonly step: number,
    readonly parameter: string | null,
    readonly checkpoint: string | null,
    loss: number,
    readonly checkpointStep: number | null = null,
  ) {
    const what = !Number.isFinite(loss) ? "loss" : parameter ? `gradient of "${parameter}"` : "gradient norm";
    super(
      `Non-finite ${what} at step ${step} (loss ${loss}); ` +
        (checkpoint
          ? `the last good checkpoint is ${checkpoint}${checkpointStep === null ? "" : ` (step ${checkpointStep})`}`
          : "no checkpoint was written") +
        "; lower the learning rate or set skipNonFinite=true",
    );
  }
}

/**
 * Load runDir's checkpoint to resume from; when it fails to load while another writer holds the run folder (and
 * so may be mid-save), say that instead of blaming the files.
 */
export async function loadForResume(runDir: string): Promise<Checkpoint> {
  try {
    return await loadCheckpoint(`${runDir}/checkpoint`);
  } catch (e) {
    const holder = await runLockHolder(runDir);
    throw holder ? runLockError(runDir, holder) : e;
  }
}

/** Check that `cfg` may resume `ckpt`: the same model, and changes only to `RESUMABLE_KEYS`. */
function checkResume(ckpt: Checkpoint, cfg: TrainConfig): void {
  checkResumable(ckpt, cfg);
  checkResumeChanges(
    configChanges(ckpt.config, cfg),
    ckpt.state.step,
    (m) => new CheckpointError(`Cannot resume from "${ckpt.dir}": ${m[0].toLowerCase()}${m.slice(1)}`),
  );
}

/**
 * Train a NormFormer-family LM as the config says. With a run folder, the run is its folder's one writer (see
 * `run_lock.ts`), and a fresh run that fails before its first update removes what it wrote there (and the folder,
 * when it made it), so a failed start leaves nothing behind. One training runs at a time per process (a second
 * concurrent call is refused): concurrent ones would share the tidy scopes and the seeded generator.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  if (training) {
    throw new Error(
      `Cannot start a training while another runs in this process ("${training}"): the tidy scopes, the seeded ` +
        "generator and the default backend are process-wide; train one after another, or in separate processes " +
        "(`deno task experiment --jobs N` does)",
    );
  }
  training = opts.runDir ?? "no run folder";
  try {
    return await trainAlone(opts);
  } finally {
    training = null;
  }
}

/** The run folder (or "no run folder") of the training running in this process, if any. */
let training: string | null = null;

async function trainAlone(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  const runDir = opts.runDir ?? null;
  const ckptDir = runDir ? `${runDir}/checkpoint` : null;
  if (opts.lock && opts.lock.dir !== runDir) {
    throw new Error(`The lock given is for "${opts.lock.dir}", not for the run folder "${runDir}"`);
  }
  let ckpt: Checkpoint | null = null;
  if (opts.resume) {
    if (!runDir || !ckptDir) throw new Error("Cannot resume without a run folder");
    ckpt = opts.checkpoint ?? await loadForResume(runDir);
    checkResume(ckpt, cfg);
  }
  const data = opts.data ?? await openTrainingData(cfg, { onProgress: opts.onData });
  const restoreSampler = (ckpt: Checkpoint) => {
    if (!ckpt.state.sampler) return;
    const { batchSize, contextLength } = cfg;
    const state = ckpt.state.sampler as BatchSamplerState;
    try {
      data.sampler = new BatchSampler(data.trainTokens, { batchSize, contextLength, state });
    } catch (e) {
      throw new CheckpointError(`Cannot resume from "${ckpt.dir}": state.json sampler: ${(e as Error).message}`);
    }
  };
  if (ckpt) restoreSampler(ckpt);
  setRng(new Rng(cfg.seed));
  const scaleValues = cfg.initScales && !ckpt
    ? await readScaleValues(cfg.initScales).catch((e) => {
      throw new ConfigError((e as Error).message);
    })
    : null;
  const model = new NormFormerLM(cfg);
  const optimizer = new AdamW(model.parameters(), {
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
    noDecay: cfg.noDecayNormsAndScales ? isNormOrScale : undefined,
  });
  let ownLock: RunLock | null = null;
  const progress: Progress = { step: 0, wrote: [] };
  try {
    if (scaleValues) {
      try {
        setLearnedScales(model, scaleValues);
      } catch (e) {
        throw new ConfigError(`Invalid initScales "${cfg.initScales}": ${(e as Error).message}`);
      }
    }
    if (ckpt) restoreCheckpoint(ckpt, model, optimizer);
    // Everything above only read; the lock comes before the first write, so a refused run changes nothing.
    if (runDir && !opts.lock) ownLock = await acquireRunLock(runDir);
    if (ckpt && ckptDir && !(await isCurrentCheckpoint(ckptDir, ckpt))) {
      // Another writer saved between the read above and the lock: continue from what is there now.
      ckpt = await loadCheckpoint(ckptDir);
      checkResume(ckpt, cfg);
      restoreSampler(ckpt);
      restoreCheckpoint(ckpt, model, optimizer);
    }
    return await loop(opts, ckpt, data, model, optimizer, progress);
  } catch (e) {
    // A failed run leaks no device memory (notebooks and sweeps retry in one process).
    optimizer.dispose();
    model.dispose();
    if (runDir && !ckpt && progress.step === 0) {
      for (const f of progress.wrote) await Deno.remove(`${runDir}/${f}`).catch(() => {});
    }
    throw e;
  } finally {
    await ownLock?.release();
  }
}

/** How far a run got, and the files of the run folder it wrote (for the clean-up of a failed start). */
interface Progress {
  step: number;
  wrote: string[];
}

/** Steps, evaluations, records and checkpoints. */
async function loop(
  opts: TrainOptions,
  ckpt: Checkpoint | null,
  data: TrainingData,
  model: NormFormerLM,
  optimizer: AdamW,
  progress: Progress,
): Promise<TrainResult> {
  const runDir = opts.runDir ?? null;
  const state: RunState = {
    step: 0,
    tokens: 0,
    flops: 0,
    time: 0,
    rng: getRng().state(),
    sampler: null,
    metricsLines: 0,
    skippedSteps: 0,
  };
  if (ckpt) {
    const { format: _f, ...saved } = ckpt.state;
    Object.assign(state, saved);
    setRng(Rng.fromState(ckpt.state.rng));
  }
  if (runDir && !ckpt) await Deno.mkdir(runDir, { recursive: true });
  // On resume, lines written after the checkpoint (a crash between checkpoints) are dropped here.
  if (runDir && !ckpt) progress.wrote.push("metrics.jsonl");
  const log = runDir ? await MetricsLog.open(`${runDir}/metrics.jsonl`, state.metricsLines) : null;
  try {
    return await steps(opts, ckpt, data, model, optimizer, progress, state, log);
  } finally {
    log?.close();
  }
}

/** The body of `loop` once metrics.jsonl is open (closed by the caller, whatever happens). */
async function steps(
  opts: TrainOptions,
  ckpt: Checkpoint | null,
  data: TrainingData,
  model: NormFormerLM,
  optimizer: AdamW,
  progress: Progress,
  state: RunState,
  log: MetricsLog | null,
): Promise<TrainResult> {
  const cfg = opts.config;
  const runDir = opts.runDir ?? null;
  const ckptDir = runDir ? `${runDir}/checkpoint` : null;
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const changes = ckpt ? configChanges(ckpt.config, cfg) : [];
  if (runDir && (!ckpt || changes.length)) {
    if (!ckpt) progress.wrote.push("config.json");
    await writeFileAtomic(`${runDir}/config.json`, new TextEncoder().encode(JSON.stringify(cfg, null, 2) + "\n"));
  }
  const emit = async (r: RunRecord) => {
    if (log) state.metricsLines = await log.append(r);
    opts.onRecord?.(r);
  };
  const save = async () => {
    if (!ckptDir) return;
    await log?.sync(); // the lines the checkpoint counts reach the disk before it does
    const snapshot = { ...state, rng: getRng().state(), sampler: data.sampler.state() };
    await saveCheckpoint(ckptDir, {
      params: Object.fromEntries(named),
      optimizer: optimizer.optimizerTensors(),
      config: cfg,
      state: snapshot,
    });
  };
  // A checkpoint resumed from (and so verified) may sit in checkpoint.prev beside a stale checkpoint.tmp.
  let lastSaved: string | null = ckpt && ckptDir ? await settleCheckpoint(ckptDir) : null;
  let lastSavedStep: number | null = ckpt ? ckpt.state.step : null;
  if (runDir && changes.length) {
    // The changes are recorded, then made durable at once: the checkpoint is saved again with the new config, so
    // config.json, checkpoint/config.json and the history agree even if the run stops before its next save.
    const entry: ConfigHistoryEntry = {
      date: new Date().toISOString(),
      step: state.step,
      tokens: state.tokens,
      changes,
    };
    await appendLine(`${runDir}/${CONFIG_HISTORY_FILE}`, JSON.stringify(entry));
    await save();
  }
  const B = cfg.batchSize, T = cfg.contextLength, k = cfg.updateFreq ?? 1;
  const flopsPerStep = trainingFlopsPerToken(model.cfg, T) * k * B * T;
  let lastEval: EvalRecord | null = null;
  const runEval = async () => {
    const { loss } = await evaluate(model, data.valid);
    const scales = model.cfg.arch === "normformer" || model.layers[0].cAttn ? await learnedScales(named) : undefined;
    lastEval = {
      kind: "eval",
      step: state.step,
      tokens: state.tokens,
      flops: state.flops,
      time: state.time,
      split: "valid",
      loss,
      ppl: Math.exp(loss),
      bpb: loss / Math.LN2 / data.validBytesPerToken,
      ...(scales && Object.keys(scales).length ? { scales } : {}),
    };
    await emit(lastEval);
  };
  let stopped: TrainResult["stopped"] = "done";
  // A checkpoint at step 0 (interrupted before the first update) already holds the first evaluation's record.
  if (!ckpt && cfg.evalEvery > 0) await runEval();
  while (state.step < cfg.steps) {
    if (opts.signal?.aborted) {
      stopped = "interrupted";
      break;
    }
    const step = state.step + 1;
    const lr = lrAt(step, cfg);
    const t0 = performance.now();
    const probing = cfg.gradStats && cfg.actStatsEvery > 0 && step % cfg.actStatsEvery === 0;
    // Gradient accumulation: k batches, each loss scaled by 1/k, gradients summed by backward; the update sees the
    // mean gradient of k·B sequences. Statistics (attention logits, activation probes) come from the first batch.
    let lossSum = 0;
    let host: number[] = [];
    for (let micro = 0; micro < k; micro++) {
      const batch = data.sampler.next();
      const stats: ForwardStats | undefined = cfg.gradStats && micro === 0
        ? {
          attnLogitMax: [],
          activations: probing ? { fc2In: [], attnOut: [], stream: [], fc2OutGrad: [] } : undefined,
        }
        : undefined;
      const last = micro === k - 1;
      const out = await tidyAsync(async () => {
        const ids = tensor(batch.inputs, { shape: [B, T], dtype: "i32" });
        const targets = tensor(batch.targets, { shape: [B, T], dtype: "i32" });
        const computed = model.loss(ids, targets, stats);
        const loss = opts.afterForward ? opts.afterForward(step, computed) : computed;
        (k === 1 ? loss : loss.mul(1 / k)).backward();
        if (last) opts.afterBackward?.(step, model);
        const norm = !last ? null : cfg.clipNorm > 0 ? clipGradNorm(params, cfg.clipNorm) : gradNorm(params);
        const act = stats?.activations;
        const outGrad = act?.fc2OutGrad.map((probe) => {
          // no grad reaches it only if the loss ignores fc2 (never here); × k undoes the loss scale
          const r = rms(probe.grad ?? probe);
          probe.grad?.dispose();
          probe.dispose();
          return k === 1 ? r : r.mul(k);
        }) ?? [];
        const scalars = [
          ...(stats?.attnLogitMax ?? []),
          ...(act ? [...act.fc2In, ...outGrad, ...act.attnOut, ...act.stream] : []),
        ];
        const parts = [loss.reshape([1]), (norm ?? loss).reshape([1]), ...scalars.map((m) => m.reshape([1]))];
        return await concat(parts, 0).toArray();
      });
      lossSum += out[0];
      if (micro === 0) host = Array.from(out);
      if (last) host[1] = out[1];
    }
    if (k > 1) host[0] = lossSum / k;
    const [loss, norm] = host;
    const record: TrainRecord = {
      kind: "train",
      step,
      tokens: state.tokens + k * B * T,
      flops: state.flops + flopsPerStep,
      time: 0,
      lr,
      loss,
      gradNorm: norm,
    };
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      const bad = Number.isFinite(loss)
        ? Object.entries(await gradNorms(named)).find(([, [l1]]) => !Number.isFinite(l1))
        : undefined;
      optimizer.zeroGrad();
      if (!cfg.skipNonFinite) throw new NonFiniteError(step, bad?.[0] ?? null, lastSaved, loss, lastSavedStep);
      record.skipped = true;
      state.skippedSteps++;
    } else {
      if (cfg.gradStats) {
        record.grads = await gradNorms(named);
        const l = cfg.layers;
        record.attnLogitMax = host.slice(2, 2 + l);
        if (probing) {
          const at = (j: number) => host.slice(2 + l * (j + 1), 2 + l * (j + 2));
          record.activations = { fc2In: at(0), fc2OutGrad: at(1), attnOut: at(2), stream: at(3) };
        }
      }
      optimizer.step(lr);
      optimizer.zeroGrad();
    }
    state.time += (performance.now() - t0) / 1000;
    state.step = step;
    progress.step = step;
    state.tokens = record.tokens;
    state.flops = record.flops;
    record.time = state.time;
    await emit(record);
    opts.onProgress?.({
      step,
      steps: cfg.steps,
      loss,
      lr,
      tokensPerSecond: state.tokens / Math.max(state.time, 1e-9),
      etaSeconds: (cfg.steps - step) * state.time / step,
    });
    if (cfg.evalEvery > 0 && (step % cfg.evalEvery === 0 || step === cfg.steps)) await runEval();
    if (cfg.checkpointEvery > 0 && step % cfg.checkpointEvery === 0 || step === cfg.steps) {
      await save();
      lastSaved = ckptDir;
      lastSavedStep = step;
    }
  }
  if (stopped === "interrupted") await save();
  return { model, optimizer, data, step: state.step, stopped, lastEval, time: state.time, tokens: state.tokens };
}

/** Append one line to a small text file atomically (the whole file is rewritten). */
async function appendLine(path: string, line: string): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (text && !text.endsWith("\n")) text += "\n";
  await writeFileAtomic(path, new TextEncoder().encode(text + line + "\n"));
}
