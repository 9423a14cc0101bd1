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
export type { Backend, DeviceBuffer, DType, OpAttrs, OpName } from "./lib/backend/backend.ts";
export { type BackendName, type BackendOptions, createBackend, type Provider } from "./lib/backend/select.ts";
export { createCpuBackend } from "./lib/backend/cpu/mod.ts";
export { init, type InitOptions } from "./lib/core/init.ts";
export { Tensor } from "./lib/core/tensor.ts";
export { arange, type CreateOptions, full, ones, rand, randn, tensor, zeros } from "./lib/core/create.ts";
export { getBackend, getRng, keep, noGrad, setBackend, setRng, tidy, tidyAsync } from "./lib/core/runtime.ts";
export { Rng, type RngState } from "./lib/core/rng.ts";
export * as F from "./lib/core/functional.ts";
export { LayerNorm, Linear, Module } from "./lib/nn/module.ts";
export { CausalSelfAttention } from "./lib/nn/attention.ts";
export {
  type Arch,
  type HeadScalePlacement,
  MODEL_DEFAULTS,
  type ModelConfig,
  resolveModelConfig,
} from "./lib/model/config.ts";
export { DecoderLayer, type ForwardStats, NormFormerLM } from "./lib/model/normformer.ts";
export { type ParamCount, paramCount, trainingFlopsPerToken } from "./lib/model/sizing.ts";
