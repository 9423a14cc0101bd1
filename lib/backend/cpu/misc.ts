/**
 * Indexing, masking, dropout and optimizer CPU kernels. Legend: R rows, C columns, V vocabulary.
 * @module
 */
import { dropoutUniform, type OpAttrs } from "../backend.ts";
import type { Arr } from "./elementwise.ts";

/** y (R, C) = table[ids[r]]; an id outside [0, V) gives a NaN row. */
export function gather(rows: number, cols: number, vocab: number, table: Arr, ids: Arr, y: Arr): void {
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    const ok = id >= 0 && id < vocab;
    for (let c = 0; c < cols; c++) y[r * cols + c] = ok ? table[id * cols + c] : NaN;
  }
}

/** dTable (V, C) = Σ_r onehot(ids[r]) ⊗ dy[r]; out-of-range ids are skipped (gather already poisoned them). */
export function scatterAdd(rows: number, cols: number, vocab: number, dy: Arr, ids: Arr, dTable: Arr): void {
  dTable.fill(0);
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id < 0 || id >= vocab) continue;
    for (let c = 0; c < cols; c++) dTable[id * cols + c] += dy[r * cols + c];
  }
}

/** y = x with y[r, i, j] = value where j > i + (Tk − Tq). */
export function causalMask(rows: number, tq: number, tk: number, value: number, x: Arr, y: Arr): void {
  const shift = tk - tq;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < tq; i++) {
      const off = (r * tq + i) * tk;
      for (let j = 0; j < tk; j++) y[off + j] = j > i + shift ? value : x[off + j];
    }
  }
}

/**
 * y[i] = x[i] · (dropoutUniform(seed, lo + i) ≥ p ? 1/(1−p) : 0): elements [lo, lo + y.length) of a dropout
 * draw, x and y viewed from lo. The factor is rounded to the storage type first (float32 unless `exact`), so y is
 * x times the float32 mask the op once stored, bit for bit (−0 and NaN of dropped elements included).
 */
export function dropout(p: number, seed: number, x: Arr, y: Arr, exact: boolean, lo = 0): void {
  const keep = exact ? 1 / (1 - p) : Math.fround(1 / (1 - p));
  for (let i = 0; i < y.length; i++) y[i] = x[i] * (dropoutUniform(seed, lo + i) >= p ? keep : 0);
}

/** fairseq Adam with decoupled weight decay, in place on param, m, v. */
export function adamw(a: OpAttrs["adamw"], param: Arr, m: Arr, v: Arr, grad: Arr): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = a;
  const stepSize = lr * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
  const decay = lr * weightDecay;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const p = param[i] - decay * param[i];
    param[i] = p - stepSize * m[i] / (Math.sqrt(v[i]) + eps);
  }
}
