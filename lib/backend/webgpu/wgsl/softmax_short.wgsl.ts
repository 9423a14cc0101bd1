/**
 * softmax and its backward for short rows (C ≤ SHORT_ROW, attention scores), one invocation per row, from storage
 * buffers or (C a multiple of 64) from textures; same params and edge cases as softmax.wgsl.ts's kernels.
 * Legend: R rows, C columns, U = C/4 texels per row.
 * @module
 */
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";
import { CAUSAL_N, WG } from "./softmax.wgsl.ts";

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
