/**
 * `F`: the functional op set, PyTorch's `torch.nn.functional` in spirit.
 * @module
 */
export {
  abs,
  add,
  div,
  eq,
  erf,
  exp,
  gelu,
  gt,
  log,
  maximum,
  mul,
  neg,
  pow,
  relu,
  reluSquared,
  rsqrt,
  sqrt,
  sub,
  tanh,
} from "./ops_elementwise.ts";
export { max, mean, sum } from "./ops_reduce.ts";
export { concat, expand, permute, reshape, slice, transpose } from "./ops_shape.ts";
export {
  causalMask,
  causalSoftmax,
  crossEntropy,
  dropout,
  embedding,
  layerNorm,
  matmul,
  type MatmulOptions,
  softmax,
} from "./ops_nn.ts";
export { crossEntropyRef, geluRef, layerNormRef, logSoftmaxRef, softmaxRef } from "./reference.ts";
