/**
 * Fused LayerNorm over the last axis (biased variance, two-pass like the CPU oracle) and its backward.
 * Forward: one workgroup per row, saving mean and rstd. Backward in two dispatches: dx per row (one workgroup per
 * row, both row sums in one vec2 reduction), then dg and db as column sums over rows (32 columns per workgroup,
 * 8 lanes over rows each, so reads stay coalesced).
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), ĝ = dy⊙g, x̂ = (x − mean)·rstd; dg = Σ_r dy⊙x̂; db = Σ_r dy.
 * Legend: R rows, C columns, WG workgroup size.
 * @module
 */
import { PRELUDE, rowMain, wgReduce } from "./common.wgsl.ts";

const WG = 64;
/** Columns per workgroup of the dg/db kernel; 8 lanes each. */
export const LN_COLS = 32;
const LANES = 8;

/** [y, mean, rstd] ← [x, g, b]. Params: [R, C, eps]. */
export function layerNormWgsl(): string {
  return PRELUDE + wgReduce("rsum", "f32", WG, "a + b") + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> b: array<f32>;
${rowMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = row * cols;
  var s = 0.0;
  for (var c = li; c < cols; c += ${WG}u) { s += x[base + c]; }
  let m = rsum(li, s) / f32(cols);
  var v = 0.0;
  for (var c = li; c < cols; c += ${WG}u) { let d = x[base + c] - m; v += d * d; }
  let r = 1.0 / sqrt(rsum(li, v) / f32(cols) + pf(2u));
  for (var c = li; c < cols; c += ${WG}u) { y[base + c] = (x[base + c] - m) * r * g[c] + b[c]; }
  if (li == 0u) { mean[row] = m; rstd[row] = r; }
}`;
}

/** [dx] ← [dy, x, g, mean, rstd]. Params: [R, C]. */
export function layerNormDxWgsl(): string {
  return PRELUDE + wgReduce("rsum2", "vec2<f32>", WG, "a + b") + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;
${rowMain(WG, "p(0u)")}
  let cols = p(1u);
  let base = row * cols;
  let m = mean[row];
  let r = rstd[row];
  var s = vec2<f32>(0.0);
  for (var c = li; c < cols; c += ${WG}u) {
    let gh = dy[base + c] * g[c];
    s += vec2<f32>(gh, gh * (x[base + c] - m) * r);
  }
  s = rsum2(li, s) / f32(cols);
  for (var c = li; c < cols; c += ${WG}u) {
    let xh = (x[base + c] - m) * r;
    dx[base + c] = r * (dy[base + c] * g[c] - s.x - xh * s.y);
  }
}`;
}

/** [dg, db] ← [dy, x, mean, rstd]; workgroup w covers columns 32w..32w+31. Params: [R, C]. */
export function layerNormDgDbWgsl(): string {
  const wg = LN_COLS * LANES;
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dg: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;
var<workgroup> part: array<vec2<f32>, ${wg}>;
${rowMain(wg, `(p(1u) + ${LN_COLS - 1}u) / ${LN_COLS}u`)}
  let rows = p(0u);
  let cols = p(1u);
  let col = row * ${LN_COLS}u + li % ${LN_COLS}u;
  let lane = li / ${LN_COLS}u;
  var acc = vec2<f32>(0.0);
  if (col < cols) {
    for (var r = lane; r < rows; r += ${LANES}u) {
      let d = dy[r * cols + col];
      acc += vec2<f32>(d * (x[r * cols + col] - mean[r]) * rstd[r], d);
    }
  }
  part[li] = acc;
  workgroupBarrier();
  for (var h = ${LANES / 2}u; h > 0u; h >>= 1u) {
    if (lane < h) { part[li] += part[li + h * ${LN_COLS}u]; }
    workgroupBarrier();
  }
  if (lane == 0u && col < cols) { dg[col] = part[li].x; db[col] = part[li].y; }
}`;
}
