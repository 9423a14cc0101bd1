/**
 * normformer-kit: tensors with reverse-mode autograd on WebGPU and CPU, the NormFormer model family
 * (Shleifer, Weston, Ott 2021), training and the paper's analyses.
 *
 * @example
 * ```ts
 * import * as nk from "./mod.ts";
 * await nk.init({ backend: "cpu" });
 * const x = nk.randn([4, 8], { requiresGrad: true });
 * const loss = x.mul(x).mean();
 * loss.backward();
 * console.log((await x.grad!.toArray()).length); // 32
 * ```
 * @module
 */
// First, so that a too-old Deno fails here with one line naming the versions.
export { checkDenoVersion, MIN_DENO_VERSION } from "./lib/core/requirements.ts";
export type { Backend, BinaryFn, DeviceBuffer, DType, OpAttrs, OpName, UnaryFn } from "./lib/backend/backend.ts";
export { type BackendName, type BackendOptions, createBackend, type Provider } from "./lib/backend/select.ts";
export { type CpuBackend, type CpuOptions, createCpuBackend } from "./lib/backend/cpu/mod.ts";
export { init, type InitOptions } from "./lib/core/init.ts";
export { type BackwardFn, Tensor } from "./lib/core/tensor.ts";
export { arange, type CreateOptions, full, type Nested, ones, rand, randn, tensor, zeros } from "./lib/core/create.ts";
export {
  type Disposable,
  getBackend,
  getRng,
  keep,
  noGrad,
  setBackend,
  setRng,
  tidy,
  tidyAsync,
} from "./lib/core/runtime.ts";
export { Rng, type RngState } from "./lib/core/rng.ts";
export * as F from "./lib/core/functional.ts";
export type { MatmulOptions } from "./lib/core/ops_nn.ts";
export { LayerNorm, Linear, Module } from "./lib/nn/module.ts";
export { type AttentionOptions, CausalSelfAttention } from "./lib/nn/attention.ts";
export {
  type Arch,
  type HeadScalePlacement,
  MODEL_DEFAULTS,
  type ModelConfig,
  resolveModelConfig,
} from "./lib/model/config.ts";
export { type ActivationProbes, DecoderLayer, type ForwardStats, NormFormerLM } from "./lib/model/normformer.ts";
export { type ParamCount, paramCount, trainingFlopsPerToken } from "./lib/model/sizing.ts";
export * as data from "./lib/data/mod.ts";
export type {
  Batch,
  BatchSampler,
  BatchSamplerState,
  DataProgress,
  DataStage,
  OnDataProgress,
  Tokenizer,
  ValidationSet,
} from "./lib/data/mod.ts";
export { AdamW, type AdamWOptions, type AdamWState, type MomentData } from "./lib/optim/adamw.ts";
export { checkSchedule, lrAt, type ScheduleConfig, type ScheduleName, SCHEDULES } from "./lib/optim/schedule.ts";
export { clipGradNorm, gradNorm } from "./lib/optim/clip.ts";
export {
  ConfigError,
  resolveConfig,
  TRAIN_DEFAULTS,
  type TrainConfig,
  type TrainOptions as TrainRunOptions,
} from "./lib/train/config.ts";
export { PRESET_LAYERS as presets, PRESET_NAMES, type PresetName } from "./lib/train/presets.ts";
export { NonFiniteError, train, type TrainOptions, type TrainProgress, type TrainResult } from "./lib/train/loop.ts";
export {
  type Checkpoint,
  hasCheckpoint,
  loadCheckpoint,
  type RunState,
  saveCheckpoint,
  type SaveOptions as CheckpointSaveOptions,
  type SavePoint,
  type StateFile,
} from "./lib/train/checkpoint.ts";
export { CHECKPOINT_FILES, type CheckpointFile, MANIFEST_FILE } from "./lib/train/checkpoint_manifest.ts";
export {
  acquireRunLock,
  LOCK_FILE,
  type LockHolder,
  type RunLock,
  RunLockError,
  runLockHolder,
} from "./lib/train/run_lock.ts";
export {
  CONFIG_HISTORY_FILE,
  type ConfigChange,
  type ConfigHistoryEntry,
  RESUMABLE_KEYS,
  resumeConfig,
} from "./lib/train/resume.ts";
export { evaluate, type EvaluateOptions } from "./lib/train/evaluate.ts";
export { generate, type GenerateOptions } from "./lib/train/generate.ts";
export { type DataConfig, FIXTURE_CORPUS, openTrainingData, type TrainingData } from "./lib/train/data.ts";
export {
  type DecodedTensor,
  type DecodeOptions,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafeDtype,
  type SafeTensor,
  type SafetensorsFile,
  type SourceDtype,
  writeSafetensors,
} from "./lib/train/safetensors.ts";
export {
  exportFairseqStateDict,
  FAIRSEQ_ARGS_KEY,
  FAIRSEQ_DECODER_VERSION,
  FAIRSEQ_EXTRA_KEYS,
  type FairseqCheckpoint,
  type HostTensor,
  importFairseqStateDict,
  loadFairseqCheckpoint,
  saveFairseqCheckpoint,
} from "./lib/train/interop.ts";
export { type FairseqModelArgs, fairseqModelArgs, modelConfigFromFairseq } from "./lib/train/fairseq_config.ts";
export {
  fairseqModelFlags,
  fairseqTrainArgs,
  fairseqTrainFlags,
  parseFairseqFlags,
  trainConfigFromFairseq,
} from "./lib/train/fairseq_train.ts";
export {
  exportFairseqRun,
  fairseqDataLine,
  fairseqDictionary,
  type FairseqExport,
  fairseqTrainScript,
  trainScriptFlags,
} from "./lib/train/fairseq_export.ts";
export { gradNorms } from "./lib/metrics/grad_stats.ts";
export { learnedScales } from "./lib/metrics/scales.ts";
export {
  type ActivationStats,
  type EvalRecord,
  parseRecords,
  type RunRecord,
  type ScaleSummary,
  summarize,
  type TrainRecord,
} from "./lib/metrics/records.ts";
export * as plot from "./lib/plot/mod.ts";
