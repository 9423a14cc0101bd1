/**
 * Named starting points for a training config: each is a partial config laid over the defaults, before a JSON
 * file and flags (see `resolveConfig`). Sizes follow NORMFORMER.md (e) (T0–T2 and the CPU tier) and (d) (125M).
 * Learning rates are starting points for sweeps, not tuned values; every tier is fp32 with dropout 0 except
 * `paper125m`, which copies the released 125M run.
 * @module
 */
import type { TrainConfig } from "./config.ts";

/** Preset names. */
export type PresetName = "tiny" | "small" | "t0" | "t1" | "t2" | "paper125m";

/** The preset names, in size order. */
export const PRESET_NAMES: readonly PresetName[] = ["tiny", "small", "t0", "t1", "t2", "paper125m"];

function freezeEach<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) Object.freeze(v);
  return Object.freeze(o);
}

const BYTE = { vocabSize: 256, tokenizer: "byte" } as const;

/** Each preset's fields; anything not listed comes from the defaults (`TRAIN_DEFAULTS`, `MODEL_DEFAULTS`). */
export const PRESET_LAYERS: Readonly<Record<PresetName, Readonly<Partial<TrainConfig>>>> = freezeEach({
  /** Seconds on CPU: smoke tests, examples, notebooks at a quick size. */
  tiny: {
    ...BYTE,
    layers: 2,
    dModel: 64,
    heads: 2,
    dFF: 256,
    contextLength: 64,
    batchSize: 8,
    steps: 200,
    lr: 1e-3,
    warmup: 20,
    evalEvery: 50,
    evalTokens: 8192,
    logEvery: 10,
    checkpointEvery: 0,
  },
  /** The (e) CPU tier for ppl-vs-compute, LR sweeps and ablations: ~2k tokens per step, minutes per run. */
  small: {
    ...BYTE,
    layers: 6,
    dModel: 128,
    heads: 4,
    dFF: 512,
    contextLength: 128,
    batchSize: 16,
    steps: 2000,
    lr: 1e-3,
    warmup: 100, // 5% of the steps, as (e) experiment 2
    evalEvery: 100,
    evalTokens: 131072,
    logEvery: 10,
    checkpointEvery: 500,
  },
  /**
   * T0 (CPU), gradient profiles (c.1): the released script's 750-update warm-up and 600 recorded steps, so the
   * run ends inside the warm-up; "constant" makes that legal and equals fairseq's schedule over these steps.
   */
  t0: {
    ...BYTE,
    layers: 12,
    dModel: 64,
    heads: 2,
    dFF: 256,
    contextLength: 128,
    batchSize: 8,
    steps: 600,
    lr: 1e-3,
    schedule: "constant",
    warmup: 750,
    evalEvery: 100,
    evalTokens: 65536,
    logEvery: 1,
    checkpointEvery: 0,
    gradStats: true,
  },
  /** T1 (GPU): LR sweep, ablations, LR ramp; 3k steps ≈ 25M tokens. */
  t1: {
    ...BYTE,
    layers: 12,
    dModel: 128,
    heads: 4,
    dFF: 512,
    contextLength: 256,
    batchSize: 32,
    steps: 3000,
    lr: 1e-3,
    warmup: 150,
    evalEvery: 100,
    evalTokens: 1048576,
    logEvery: 10,
    checkpointEvery: 1000,
  },
  /** T2 (GPU): confirm the best LRs; ppl vs compute. */
  t2: {
    ...BYTE,
    layers: 12,
    dModel: 192,
    heads: 6,
    dFF: 768,
    contextLength: 256,
    batchSize: 32,
    steps: 4000,
    lr: 1e-3,
    warmup: 200,
    evalEvery: 100,
    evalTokens: 1048576,
    logEvery: 10,
    checkpointEvery: 1000,
  },
  /**
   * The released 125M NormFormer run (fairseq examples/normformer, NORMFORMER.md (d)): 0.5M tokens per update,
   * 572,204 updates, lr 3e-3, warm-up 750 then linear decay to 0, dropout 0.1, GPT-2 BPE. fairseq ran it in
   * fp16 with FSDP; we run fp32. The README's "Best" adds `residScale: true`.
   */
  paper125m: {
    vocabSize: 50257,
    tokenizer: "gpt2",
    layers: 12,
    dModel: 768,
    heads: 12,
    dFF: 3072,
    contextLength: 2048,
    dropout: 0.1,
    attentionDropout: 0.1,
    batchSize: 256,
    steps: 572204,
    lr: 3e-3,
    warmup: 750,
    evalEvery: 1000,
    evalTokens: 1048576,
    logEvery: 100,
    checkpointEvery: 10000,
  },
});
