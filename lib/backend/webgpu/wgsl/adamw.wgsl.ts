/**
 * AdamW step in place on (param, m, v), fairseq's form with decoupled weight decay:
 * p −= lr·wd·p; m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε).
 * Scalars that depend only on the step are computed on the host in float64, as the CPU oracle does.
 * Legend: N elements.
 * @module
 */
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";

/** [param, m, v] ← [grad]. Params: [N, β1, 1−β1, β2, 1−β2, lr·wd, stepSize, ε]. */
export function adamwWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
${elementwiseMain(64, "p(0u)")}
  let g = grad[i];
  let mi = pf(1u) * m[i] + pf(2u) * g;
  let vi = pf(3u) * v[i] + pf(4u) * g * g;
  m[i] = mi;
  v[i] = vi;
  let w = param[i] - pf(5u) * param[i];
  param[i] = w - pf(6u) * mi / (sqrt(vi) + pf(7u));
}`;
}
