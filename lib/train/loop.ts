/**
 * The training loop: seeded batches, forward + backward, global grad norm (and clipping), AdamW with the
 * configured schedule, a metrics record per step, evaluation every N steps, atomic checkpoints, exact resume,
 * and a clear stop on a non-finite loss or gradient.
 * @module
 */
import { concat } from "../core/ops_shape.ts";
import { tensor } from "../core/create.ts";
import { getRng, setRng, tidyAsync } from "../core/runtime.ts";
import { Rng } from "../core/rng.ts";
import { NormFormerLM } from "../model/normformer.ts";
import { trainingFlopsPerToken } from "../model/sizing.ts";
import { AdamW, isNormOrScale } from "../optim/adamw.ts";
import { clipGradNorm, gradNorm } from "../optim/clip.ts";
import { lrAt } from "../optim/schedule.ts";
import type { OnDataProgress } from "../data/progress.ts";
import { BatchSampler, type BatchSamplerState } from "../data/sampler.ts";
import { gradNorms } from "../metrics/grad_stats.ts";
import { learnedScales } from "../metrics/scales.ts";
import type { EvalRecord, RunRecord, TrainRecord } from "../metrics/records.ts";
import { type Checkpoint, loadCheckpoint, type RunState, saveCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import { openTrainingData, type TrainingData } from "./data.ts";
import { evaluate } from "./evaluate.ts";
import { MetricsLog } from "./metrics_log.ts";

/** Progress of a run, for a progress bar. */
export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

/** Options of `train`. */
export interface TrainOptions {
  /** The resolved configuration. */
  config: TrainConfig;
  /** Folder for metrics.jsonl, config.json and checkpoint/ (null: keep nothing on disk). */
  runDir?: string | null;
  /** Continue from runDir/checkpoint. */
  resume?: boolean;
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
  /** Test hook called after backward, before the update (fault injection). */
  afterBackward?: (step: number, model: NormFormerLM) => void;
}

/** How a run ended. */
export interface TrainResult {
  model: NormFormerLM;
  optimizer: AdamW;
  data: TrainingData;
  step: number;
  stopped: "done" | "interrupted";
  lastEval: EvalRecord | null;
}

/** Thrown when the loss or a gradient is NaN or infinite and skipping is off. */
export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    readonly parameter: string | null,
    readonly checkpoint: string | null,
    loss: number,
  ) {
    super(
      `Non-finite ${parameter ? `gradient of "${parameter}"` : "loss"} at step ${step} (loss ${loss}); ` +
        (checkpoint ? `the last good checkpoint is ${checkpoint}` : "no checkpoint was written") +
        "; lower the learning rate or set skipNonFinite=true",
    );
  }
}

/** Train a NormFormer-family LM as the config says. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  const runDir = opts.runDir ?? null;
  const ckptDir = runDir ? `${runDir}/checkpoint` : null;
  let ckpt: Checkpoint | null = null;
  if (opts.resume) {
    if (!ckptDir) throw new Error("Cannot resume without a run folder");
    ckpt = await loadCheckpoint(ckptDir);
  }
  const samplerState = ckpt?.state.sampler as BatchSamplerState | undefined;
  const data = opts.data ?? await openTrainingData(cfg, { samplerState, onProgress: opts.onData });
  if (opts.data && samplerState) {
    const { batchSize, contextLength } = cfg;
    data.sampler = new BatchSampler(data.trainTokens, { batchSize, contextLength, state: samplerState });
  }
  setRng(new Rng(cfg.seed));
  const model = new NormFormerLM(cfg);
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const optimizer = new AdamW(params, {
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
    noDecay: cfg.noDecayNormsAndScales ? isNormOrScale : undefined,
  });
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
    checkSameModel(ckpt.config, cfg);
    model.loadStateDict(ckpt.model);
    optimizer.loadOptimizerTensors(
      Object.fromEntries(Object.entries(ckpt.optimizer).map(([n, t]) => [n, t.data as Float32Array])),
      ckpt.state.step - ckpt.state.skippedSteps,
    );
    Object.assign(state, ckpt.state);
    setRng(Rng.fromState(ckpt.state.rng));
  }
  const log = runDir ? await MetricsLog.open(`${runDir}/metrics.jsonl`, state.metricsLines) : null;
  if (runDir && !ckpt) await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
  const emit = async (r: RunRecord) => {
    if (log) state.metricsLines = await log.append(r);
    opts.onRecord?.(r);
  };
  const save = async () => {
    if (!ckptDir) return;
    const snapshot = { ...state, rng: getRng().state(), sampler: data.sampler.state() };
    await saveCheckpoint(ckptDir, {
      params: Object.fromEntries(named),
      optimizer: optimizer.optimizerTensors(),
      config: cfg,
      state: snapshot,
    });
  };
  let lastSaved: string | null = ckpt ? ckptDir : null;
  const B = cfg.batchSize, T = cfg.contextLength;
  const flopsPerStep = trainingFlopsPerToken(model.cfg, T) * B * T;
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
  if (state.step === 0 && cfg.evalEvery > 0) await runEval();
  let stopped: TrainResult["stopped"] = "done";
  try {
    while (state.step < cfg.steps) {
      if (opts.signal?.aborted) {
        stopped = "interrupted";
        break;
      }
      const step = state.step + 1;
      const lr = lrAt(step, cfg);
      const batch = data.sampler.next();
      const t0 = performance.now();
      const stats = cfg.gradStats ? { attnLogitMax: [] as never[] } : undefined;
      const host = await tidyAsync(async () => {
        const ids = tensor(batch.inputs, { shape: [B, T], dtype: "i32" });
        const targets = tensor(batch.targets, { shape: [B, T], dtype: "i32" });
        const loss = model.loss(ids, targets, stats);
        loss.backward();
        opts.afterBackward?.(step, model);
        const norm = cfg.clipNorm > 0 ? clipGradNorm(params, cfg.clipNorm) : gradNorm(params);
        const parts = [
          loss.reshape([1]),
          norm.reshape([1]),
          ...(stats?.attnLogitMax ?? []).map((m) => (m as { reshape(s: number[]): never }).reshape([1])),
        ];
        return await concat(parts, 0).toArray();
      });
      const [loss, norm] = host;
      const record: TrainRecord = {
        kind: "train",
        step,
        tokens: state.tokens + B * T,
        flops: state.flops + flopsPerStep,
        time: 0,
        lr,
        loss,
        gradNorm: norm,
      };
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        const bad = Object.entries(await gradNorms(named)).find(([, [l1]]) => !Number.isFinite(l1));
        optimizer.zeroGrad();
        if (!cfg.skipNonFinite) throw new NonFiniteError(step, bad?.[0] ?? null, lastSaved, loss);
        record.skipped = true;
        state.skippedSteps++;
      } else {
        if (cfg.gradStats) {
          record.grads = await gradNorms(named);
          record.attnLogitMax = Array.from(host.slice(2));
        }
        optimizer.step(lr);
        optimizer.zeroGrad();
      }
      state.time += (performance.now() - t0) / 1000;
      state.step = step;
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
      }
    }
    if (stopped === "interrupted") await save();
  } finally {
    log?.close();
  }
  return { model, optimizer, data, step: state.step, stopped, lastEval };
}

/** A checkpoint resumes only into the same model shape and arch. */
function checkSameModel(saved: Record<string, unknown>, cfg: TrainConfig): void {
  for (
    const key of [
      "arch",
      "vocabSize",
      "dModel",
      "heads",
      "dFF",
      "layers",
      "postAttnNorm",
      "headScale",
      "headScalePlacement",
      "ffnNorm",
      "residScale",
      "activation",
      "positions",
    ] as const
  ) {
    if (saved[key] !== cfg[key]) {
      throw new Error(
        `Cannot resume: the checkpoint has ${key} ${JSON.stringify(saved[key])}, the config ${
          JSON.stringify(cfg[key])
        }`,
      );
    }
  }
}
