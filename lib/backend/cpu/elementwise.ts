/**
 * Elementwise CPU kernels: unary functions, broadcasting binary functions, scalar affine, fill, strided copies.
 * Arrays are Float32Array (normal precision) or Float64Array (the float64 oracle used by gradient checks).
 * @module
 */
import type { BinaryFn, UnaryFn } from "../backend.ts";
import { erf, gelu, geluGrad } from "./math.ts";

/** A CPU buffer's storage. */
export type Arr = Float32Array | Float64Array | Int32Array;

const UNARY: Record<UnaryFn, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  abs: Math.abs,
  sign: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0),
  erf,
  gelu,
  geluGrad,
  relu: (x) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0),
  step: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : 0),
};

const BINARY: Record<BinaryFn, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
  eq: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a === b ? 1 : 0),
  gt: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? 1 : 0),
};

/** y[i] = fn(x[i]). */
export function unary(fn: UnaryFn, x: Arr, y: Arr): void {
  const f = UNARY[fn];
  for (let i = 0; i < y.length; i++) y[i] = f(x[i]);
}

/** y[i] = x[i]·scale + bias. */
export function affine(scale: number, bias: number, x: Arr, y: Arr): void {
  for (let i = 0; i < y.length; i++) y[i] = x[i] * scale + bias;
}

/** Calls visit(outIndex, offsetA, offsetB) for every element of `shape`, walking two stride sets at once. */
function walk(shape: number[], sa: number[], sb: number[], offA: number, offB: number, visit: Visit): void {
  const rank = shape.length;
  const n = shape.reduce((p, s) => p * s, 1);
  if (n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let a = offA, b = offB;
  for (let i = 0; i < n; i++) {
    visit(i, a, b);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      a += sa[d];
      b += sb[d];
      if (idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}
type Visit = (i: number, a: number, b: number) => void;

/** y (shape) = fn(a, b) with broadcast strides. */
export function binary(fn: BinaryFn, shape: number[], aStrides: number[], bStrides: number[], a: Arr, b: Arr, y: Arr) {
  const f = BINARY[fn];
  if (
    a.length === y.length && b.length === y.length && isContiguous(shape, aStrides) && isContiguous(shape, bStrides)
  ) {
    for (let i = 0; i < y.length; i++) y[i] = f(a[i], b[i]);
    return;
  }
  walk(shape, aStrides, bStrides, 0, 0, (i, ia, ib) => y[i] = f(a[ia], b[ib]));
}

/** y (shape, contiguous) = x[offset + Σ idx·strides]. */
export function strided(shape: number[], strides: number[], offset: number, x: Arr, y: Arr): void {
  walk(shape, strides, strides, offset, offset, (i, ix) => y[i] = x[ix]);
}

/** dst[offset + Σ idx·strides] = src (shape, contiguous). */
export function scatterStrided(shape: number[], strides: number[], offset: number, src: Arr, dst: Arr): void {
  walk(shape, strides, strides, offset, offset, (i, id) => dst[id] = src[i]);
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}
