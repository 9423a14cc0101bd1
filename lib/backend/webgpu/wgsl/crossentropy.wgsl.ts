/**
 * Fused cross-entropy over logits rows and its backward. Forward: one workgroup per row computes max and
 * Σ exp(x − max); loss = (max − x[t]) + log Σ, which keeps full precision for logits near ±1e4 where lse − x[t]
 * would lose it to the rounding of lse. Rows with a NaN, or a max of ±∞, follow the oracle's lse − x[t].
 * Backward: one invocation per logit, (exp(x − lse) − [c = t])·dLoss. A target outside [0, C) gives NaN.
 * Legend: R rows, C columns (classes), WG workgroup size.
 * @module
 */
import { elementwiseMain, PRELUDE, rowMain, wgReduce } from "./common.wgsl.ts";

const WG = 64;

/** [loss (R), lse (R)] ← [logits (R, C), targets i32 (R)]. Params: [R, C]. */
export function crossEntropyWgsl(): string {
  return PRELUDE + wgReduce("rmax", "f32", WG, "maxNan(a, b)") + wgReduce("rsum", "f32", WG, "a + b") + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
${rowMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = row * cols;
  var m = ninfF();
  for (var c = li; c < cols; c += ${WG}u) { m = maxNan(m, x[base + c]); }
  m = rmax(li, m);
  var s = 0.0;
  for (var c = li; c < cols; c += ${WG}u) { s += exp(x[base + c] - m); }
  s = rsum(li, s);
  if (li == 0u) {
    let t = targets[row];
    let valid = t >= 0 && u32(t) < cols;
    var xt = 0.0;
    if (valid) { xt = x[base + u32(t)]; }
    let special = isNan(m) || isInf(m);
    let l = select(m + log(s), m, special);
    lse[row] = l;
    loss[row] = select(nanF(), select((m - xt) + log(s), l - xt, special), valid);
  }
}`;
}

/** dLogits (R, C) ← [logits, targets i32, lse, dLoss]. Params: [R·C, C]. */
export function crossEntropyBackwardWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dl: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  let cols = p(1u);
  let r = i / cols;
  let c = i - r * cols;
  let t = targets[r];
  let valid = t >= 0 && u32(t) < cols;
  let onehot = select(0.0, 1.0, valid && u32(t) == c);
  dx[i] = select(nanF(), (exp(x[i] - lse[r]) - onehot) * dl[r], valid);
}`;
}
