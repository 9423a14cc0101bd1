/**
 * Fused softmax over the last axis and its backward, one workgroup per row (rows up to SHORT_ROW columns run the
 * one-invocation-per-row kernels of softmax_short.wgsl.ts). Forward: y = exp(x − max) / Σ exp(x −
 * max), stable for logits of any size (x − max is exact near the max). Rows the CPU oracle treats specially give
 * the same answer: any NaN → NaN row; all −∞ (log-sum-exp −∞) → NaN row; a +∞ entry (log-sum-exp +∞) → 0 for
 * finite entries and NaN for the +∞ ones.
 * Legend: R rows, C columns, WG workgroup size.
 * @module
 */
import { PRELUDE, rowMain, wgReduce } from "./common.wgsl.ts";

/** Invocations per workgroup (the short-row kernels in softmax_short.wgsl.ts too). */
export const WG = 64;

/** Widest rows the one-invocation-per-row kernels take (attention scores have T columns). */
export const SHORT_ROW = 256;

/** The causal row length n (columns that take part) of `row`: params [R, C, Tq]. */
export const CAUSAL_N = /* wgsl */ `
fn causalN(row: u32, cols: u32, tq: u32) -> u32 {
  var seen = i32(cols);
  if (tq > 0u) { seen = min(seen, i32(row % tq) + i32(cols) - i32(tq) + 1); }
  return u32(max(seen, 0));
}`;

/**
 * y (R, C) = softmax(x) per row. Params: [R, C, Tq]; Tq > 0 fuses the causal mask: row r is query i = r mod Tq
 * and sees columns j < n = i + C − Tq + 1 (y is 0 beyond; n ≤ 0 gives a NaN row, as all −∞ does).
 */
export function softmaxWgsl(): string {
  return PRELUDE + CAUSAL_N + wgReduce("rmax", "f32", WG, "maxNan(a, b)") + wgReduce("rsum", "f32", WG, "a + b") +
    /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${rowMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = row * cols;
  let n = causalN(row, cols, p(2u));
  var m = ninfF();
  for (var c = li; c < n; c += ${WG}u) { m = maxNan(m, x[base + c]); }
  m = rmax(li, m);
  var s = 0.0;
  for (var c = li; c < n; c += ${WG}u) { s += exp(x[base + c] - m); }
  s = rsum(li, s);
  let bad = isNan(m) || (isInf(m) && m < 0.0);
  let posInf = isInf(m) && m > 0.0;
  for (var c = li; c < cols; c += ${WG}u) {
    let v = x[base + c];
    let atInf = select(0.0, nanF(), isInf(v) && v > 0.0);
    y[base + c] = select(select(select(exp(v - m) / s, atInf, posInf), 0.0, c >= n), nanF(), bad);
  }
}`;
}

/** dx = y ⊙ (dy − Σ_c dy⊙y) per row. Params: [R, C]. */
export function softmaxBackwardWgsl(): string {
  return PRELUDE + wgReduce("rsum", "f32", WG, "a + b") + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
${rowMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = row * cols;
  var s = 0.0;
  for (var c = li; c < cols; c += ${WG}u) { s += dy[base + c] * y[base + c]; }
  s = rsum(li, s);
  for (var c = li; c < cols; c += ${WG}u) { dx[base + c] = y[base + c] * (dy[base + c] - s); }
}`;
}
