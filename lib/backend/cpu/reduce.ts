/**
 * Reduction, softmax, LayerNorm and cross-entropy CPU kernels. Sums run in float64 (JS numbers) so the oracle
 * is at least as accurate as any device kernel. Legend: R rows, C columns.
 * @module
 */
import type { Arr } from "./elementwise.ts";
import { expFast } from "./fast_math.ts";

/**
 * y (outer, inner) = sum or max of x (outer, size, inner) over the middle axis; max propagates NaN. Only columns
 * [c0, c1) of inner are computed (a thread's share when outer is 1).
 */
export function reduce(
  fn: "sum" | "max",
  outer: number,
  size: number,
  inner: number,
  x: Arr,
  y: Arr,
  c0 = 0,
  c1 = inner,
): void {
  for (let o = 0; o < outer; o++) {
    const out = o * inner, base = o * size * inner;
    if (inner === 1) {
      let acc = fn === "sum" ? 0 : -Infinity;
      for (let s = 0; s < size; s++) {
        const v = x[base + s];
        if (fn === "sum") acc += v;
        else if (v > acc || v !== v) acc = acc !== acc ? acc : v;
      }
      y[out] = acc;
      continue;
    }
    // Walk rows contiguously (a column sum over many rows, like a bias gradient, stays in cache).
    const acc = new Float64Array(c1 - c0).fill(fn === "sum" ? 0 : -Infinity);
    for (let s = 0; s < size; s++) {
      const row = base + s * inner + c0;
      if (fn === "sum") { for (let i = 0; i < acc.length; i++) acc[i] += x[row + i]; }
      else {
        for (let i = 0; i < acc.length; i++) {
          const v = x[row + i];
          if (v > acc[i] || v !== v) acc[i] = acc[i] !== acc[i] ? acc[i] : v;
        }
      }
    }
    for (let i = 0; i < acc.length; i++) y[out + c0 + i] = acc[i];
  }
}

/** Row max and log-sum-exp of x[r, :], stable by subtracting the max. */
function rowLse(x: Arr, off: number, cols: number, exact: boolean): number {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) {
    const v = x[off + c];
    if (Number.isNaN(v)) return NaN;
    if (v > max) max = v;
  }
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let sum = 0;
  if (exact) { for (let c = 0; c < cols; c++) sum += Math.exp(x[off + c] - max); }
  else for (let c = 0; c < cols; c++) sum += expFast(x[off + c] - max);
  return max + Math.log(sum);
}

/**
 * y (R, C) = softmax of x over the last axis. With `causalTq` > 0, row r is query i = r mod causalTq and only its
 * first i + C − causalTq + 1 columns take part (the rest of y is 0). A row of all −∞, with a NaN, or with no
 * column left gives NaN; a +∞ entry gives NaN there and 0 elsewhere. `exact` uses Math.exp (the float64 oracle).
 */
export function softmax(rows: number, cols: number, causalTq: number, x: Arr, y: Arr, exact: boolean): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const n = causalTq > 0 ? Math.min(cols, (r % causalTq) + cols - causalTq + 1) : cols;
    let max = -Infinity, nan = n <= 0;
    for (let c = 0; c < n; c++) {
      const v = x[off + c];
      if (v > max) max = v;
      else if (v !== v) nan = true;
    }
    if (nan || max === -Infinity) {
      y.fill(NaN, off, off + cols);
      continue;
    }
    if (max === Infinity) {
      for (let c = 0; c < n; c++) y[off + c] = x[off + c] === Infinity ? NaN : 0;
    } else {
      let sum = 0;
      for (let c = 0; c < n; c++) {
        const v = x[off + c] - max;
        const e = exact ? Math.exp(v) : expFast(v);
        y[off + c] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let c = 0; c < n; c++) y[off + c] *= inv;
    }
    y.fill(0, off + n, off + cols);
  }
}

/** dx = y ⊙ (dy − Σ dy⊙y) per row. */
export function softmaxBackward(rows: number, cols: number, y: Arr, dy: Arr, dx: Arr): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[off + c] * y[off + c];
    for (let c = 0; c < cols; c++) dx[off + c] = y[off + c] * (dy[off + c] - dot);
  }
}

/** LayerNorm over the last axis with biased variance; saves mean and rstd for the backward. */
export function layerNorm(
  rows: number,
  cols: number,
  eps: number,
  x: Arr,
  g: Arr,
  b: Arr,
  y: Arr,
  mean: Arr,
  rstd: Arr,
) {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    // One pass for mean and variance, shifted by the row's first value (exact enough when the shift is within a
    // few standard deviations of the mean, as any element is; 23% faster than two passes).
    const k = x[off];
    let s1 = 0, s2 = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[off + c] - k;
      s1 += d;
      s2 += d * d;
    }
    const dm = s1 / cols, m = k + dm;
    const s = 1 / Math.sqrt(Math.max(s2 / cols - dm * dm, 0) + eps);
    for (let c = 0; c < cols; c++) y[off + c] = (x[off + c] - m) * s * g[c] + b[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

/**
 * dx of LayerNorm, dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) with ĝ = dy⊙g, and dg += Σ_r dy⊙x̂, db += Σ_r dy added
 * into float64 accumulators (a float32 array would round at every row and cost a conversion per store).
 */
export function layerNormBackward(
  rows: number,
  cols: number,
  dy: Arr,
  x: Arr,
  g: Arr,
  mean: Arr,
  rstd: Arr,
  dx: Arr,
  accG: Float64Array,
  accB: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = mean[r], s = rstd[r];
    let sumG = 0, sumGX = 0;
    for (let c = 0; c < cols; c++) {
      const xh = (x[off + c] - m) * s, d = dy[off + c];
      const gh = d * g[c];
      sumG += gh;
      sumGX += gh * xh;
      accG[c] += d * xh;
      accB[c] += d;
    }
    sumG /= cols;
    sumGX /= cols;
    for (let c = 0; c < cols; c++) {
      const xh = (x[off + c] - m) * s;
      dx[off + c] = s * (dy[off + c] * g[c] - sumG - xh * sumGX);
    }
  }
}

/** loss[r] = lse[r] − logits[r, t[r]]; a target outside [0, C) gives NaN. */
export function crossEntropy(
  rows: number,
  cols: number,
  logits: Arr,
  t: Arr,
  loss: Arr,
  lse: Arr,
  exact: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const l = rowLse(logits, off, cols, exact);
    const target = t[r];
    lse[r] = l;
    loss[r] = target >= 0 && target < cols ? l - logits[off + target] : NaN;
  }
}

/** dLogits[r, c] = (softmax[r, c] − [c = t[r]])·dLoss[r]. */
export function crossEntropyBackward(
  rows: number,
  cols: number,
  logits: Arr,
  t: Arr,
  lse: Arr,
  dLoss: Arr,
  dLogits: Arr,
  exact: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols, target = t[r], l = lse[r], d = dLoss[r];
    if (!(target >= 0 && target < cols)) {
      dLogits.fill(NaN, off, off + cols);
      continue;
    }
    if (exact) { for (let c = 0; c < cols; c++) dLogits[off + c] = Math.exp(logits[off + c] - l) * d; }
    else for (let c = 0; c < cols; c++) dLogits[off + c] = expFast(logits[off + c] - l) * d;
    dLogits[off + target] = (Math.exp(logits[off + target] - l) - 1) * d;
  }
}
