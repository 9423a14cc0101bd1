/**
 * Fused softmax over the last axis and its backward, one workgroup per row. Forward: y = exp(x − max) / Σ exp(x −
 * max), stable for logits of any size (x − max is exact near the max). Rows the CPU oracle treats specially give
 * the same answer: any NaN → NaN row; all −∞ (log-sum-exp −∞) → NaN row; a +∞ entry (log-sum-exp +∞) → 0 for
 * finite entries and NaN for the +∞ ones.
 * Legend: R rows, C columns, WG workgroup size.
 * @module
 */
import { elementwiseMain, PRELUDE, rowMain, wgReduce } from "./common.wgsl.ts";

const WG = 64;

/** Widest rows the one-invocation-per-row kernels take (attention scores have T columns). */
export const SHORT_ROW = 256;

/** The causal row length n (columns that take part) of `row`: params [R, C, Tq]. */
const CAUSAL_N = /* wgsl */ `
fn causalN(row: u32, cols: u32, tq: u32) -> u32 {
  var seen = i32(cols);
  if (tq > 0u) { seen = min(seen, i32(row % tq) + i32(cols) - i32(tq) + 1); }
  return u32(max(seen, 0));
}`;

/**
 * softmax for short rows (C ≤ SHORT_ROW), one invocation per row: no workgroup memory or barriers, each exp
 * computed once (kept in y, then scaled). On the emulated adapter barriers cost more than the serial row; on a
 * GPU, rows of ≤ 256 stay cheap per invocation. Same params and edge cases as `softmaxWgsl`.
 */
export function softmaxShortWgsl(): string {
  return PRELUDE + CAUSAL_N + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  let row = i;
  let cols = p(1u);
  let base = row * cols;
  let n = causalN(row, cols, p(2u));
  var m = ninfF();
  for (var c = 0u; c < n; c++) { m = maxNan(m, x[base + c]); }
  let bad = isNan(m) || (isInf(m) && m < 0.0);
  let posInf = isInf(m) && m > 0.0;
  var s = 0.0;
  for (var c = 0u; c < n; c++) {
    let e = exp(x[base + c] - m);
    y[base + c] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var c = 0u; c < cols; c++) {
    let v = x[base + c];
    let atInf = select(0.0, nanF(), isInf(v) && v > 0.0);
    var o = select(y[base + c] * inv, atInf, posInf);
    o = select(o, 0.0, c >= n);
    y[base + c] = select(o, nanF(), bad);
  }
}`;
}

/**
 * `softmaxShortWgsl` reading x from an rgba32float texture, one texture row per row (C a multiple of 64, so a copy
 * fills it), four columns per load: llvmpipe gathers texture loads as vectors but runs storage loads lane by lane.
 * exp is computed twice (sum, then output) instead of kept in y, whose storage reads would cost more.
 */
export function softmaxShortTexWgsl(): string {
  return PRELUDE + CAUSAL_N + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var X: texture_2d<f32>;
// Output for column value v at column c of a row with max m, 1/Σ inv, n columns seen, flags as softmaxShortWgsl's.
fn outAt(v: f32, c: u32, m: f32, inv: f32, n: u32, posInf: bool, bad: bool) -> f32 {
  let atInf = select(0.0, nanF(), isInf(v) && v > 0.0);
  let o = select(select(exp(v - m) * inv, atInf, posInf), 0.0, c >= n);
  return select(o, nanF(), bad);
}
${elementwiseMain(WG, "p(0u)")}
  let row = i;
  let units = p(1u) / 4u;
  let n = causalN(row, p(1u), p(2u));
  let seen = (n + 3u) / 4u;
  var m = ninfF();
  for (var u = 0u; u < seen; u++) {
    let v = textureLoad(X, vec2<u32>(u, row), 0);
    let c = 4u * u;
    m = maxNan(m, select(ninfF(), v.x, c < n));
    m = maxNan(m, select(ninfF(), v.y, c + 1u < n));
    m = maxNan(m, select(ninfF(), v.z, c + 2u < n));
    m = maxNan(m, select(ninfF(), v.w, c + 3u < n));
  }
  let bad = isNan(m) || (isInf(m) && m < 0.0);
  let posInf = isInf(m) && m > 0.0;
  var s = 0.0;
  for (var u = 0u; u < seen; u++) {
    let e = exp(textureLoad(X, vec2<u32>(u, row), 0) - m);
    let c = 4u * u;
    s += select(0.0, e.x, c < n) + select(0.0, e.y, c + 1u < n) + select(0.0, e.z, c + 2u < n) +
      select(0.0, e.w, c + 3u < n);
  }
  let inv = 1.0 / s;
  for (var u = 0u; u < units; u++) {
    let v = textureLoad(X, vec2<u32>(u, row), 0);
    let c = 4u * u;
    y[row * units + u] = vec4<f32>(outAt(v.x, c, m, inv, n, posInf, bad), outAt(v.y, c + 1u, m, inv, n, posInf, bad),
      outAt(v.z, c + 2u, m, inv, n, posInf, bad), outAt(v.w, c + 3u, m, inv, n, posInf, bad));
  }
}`;
}

/** dx = y ⊙ (dy − Σ_c dy⊙y) for short rows, one invocation per row. Params: [R, C]. */
export function softmaxBackwardShortWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = i * cols;
  var s = 0.0;
  for (var c = 0u; c < cols; c++) { s += dy[base + c] * y[base + c]; }
  for (var c = 0u; c < cols; c++) { dx[base + c] = y[base + c] * (dy[base + c] - s); }
}`;
}

/**
 * `softmaxBackwardShortWgsl` reading y and dy from rgba32float textures, one texture row per row (C a multiple of
 * 64, so copies fill them): llvmpipe gathers texture loads as vectors but runs storage loads lane by lane.
 * Params: [R, C].
 */
export function softmaxBackwardShortTexWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(2) var Y: texture_2d<f32>;
@group(0) @binding(3) var DY: texture_2d<f32>;
${elementwiseMain(WG, "p(0u)")}
  let units = p(1u) / 4u;
  var s = vec4<f32>(0.0);
  for (var u = 0u; u < units; u++) { s += textureLoad(DY, vec2<u32>(u, i), 0) * textureLoad(Y, vec2<u32>(u, i), 0); }
  let t = dot(s, vec4<f32>(1.0));
  for (var u = 0u; u < units; u++) {
    let at = vec2<u32>(u, i);
    dx[i * units + u] = textureLoad(Y, at, 0) * (textureLoad(DY, at, 0) - t);
  }
}`;
}

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
