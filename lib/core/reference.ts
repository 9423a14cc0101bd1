/**
 * Composite reference versions of the fused ops, built only from primitives. The fused kernels are tested
 * against these (and against PyTorch fixtures); they are also a readable statement of the math.
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { add, div, erf, exp, log, mul, sub } from "./ops_elementwise.ts";
import { max, mean, sum } from "./ops_reduce.ts";
import { embedding } from "./ops_nn.ts";
import { tensor } from "./create.ts";

/** softmax(x) = exp(x − max) / Σ exp(x − max) over the last axis. */
export function softmaxRef(x: Tensor): Tensor {
  const z = sub(x, max(x, -1, true));
  const e = exp(z);
  return div(e, sum(e, -1, true));
}

/** log softmax(x) = x − max − log Σ exp(x − max) over the last axis. */
export function logSoftmaxRef(x: Tensor): Tensor {
  const z = sub(x, max(x, -1, true));
  return sub(z, log(sum(exp(z), -1, true)));
}

/** LayerNorm from primitives: g ⊙ (x − μ)/√(σ² + eps) + b, biased σ². */
export function layerNormRef(x: Tensor, g: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const mu = mean(x, -1, true);
  const xc = sub(x, mu);
  const v = mean(mul(xc, xc), -1, true);
  return add(mul(div(xc, add(v, eps).sqrt()), g), b);
}

/** Mean NLL of log-softmax, picking targets with a one-hot gather from the identity matrix. */
export function crossEntropyRef(logits: Tensor, targets: Tensor): Tensor {
  const v = logits.shape[logits.rank - 1];
  const eye = new Float32Array(v * v);
  for (let i = 0; i < v; i++) eye[i * v + i] = 1;
  const onehot = embedding(tensor(eye, { shape: [v, v], backend: logits.backend }), targets); // (..., V)
  return mean(sum(mul(logSoftmaxRef(logits), onehot), -1)).neg();
}

/** GELU from erf: 0.5·x·(1 + erf(x/√2)). */
export function geluRef(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}
