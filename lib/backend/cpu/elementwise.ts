/**
 * Elementwise CPU kernels: unary functions, broadcasting binary functions, scalar affine, fill, strided copies.
 * Arrays are Float32Array (normal precision) or Float64Array (the float64 oracle used by gradient checks).
 * @module
 */
import type { BinaryFn, UnaryFn } from "../backend.ts";
import { erf, gelu, geluBackward } from "./math.ts";
import { erfFast, expFast, geluBackwardFast, geluFast } from "./fast_math.ts";

/** A CPU buffer's storage. */
export type Arr = Float32Array | Float64Array | Int32Array;

const BINARY: Record<BinaryFn, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
  eq: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a === b ? 1 : 0),
  gt: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? 1 : 0),
  geluBackward,
};

/** y[i] = fn(x[i]); `exact` uses double-precision erf (the float64 oracle), else a float32-accurate one. */
export function unary(fn: UnaryFn, x: Arr, y: Arr, exact: boolean): void {
  const loop = exact ? undefined : FAST_LOOPS[fn];
  (loop ?? LOOPS[fn])(x, y);
}

type Loop = (x: Arr, y: Arr) => void;

// One hand-written loop per function: a shared loop calling `f(x[i])` is megamorphic and ~20× slower in V8.
const LOOPS: Record<UnaryFn, Loop> = {
  neg: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = -x[i];
  },
  exp: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.exp(x[i]);
  },
  log: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.log(x[i]);
  },
  sqrt: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.sqrt(x[i]);
  },
  rsqrt: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = 1 / Math.sqrt(x[i]);
  },
  tanh: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.tanh(x[i]);
  },
  abs: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.abs(x[i]);
  },
  sign: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i] === 0 ? 0 : NaN;
  },
  erf: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = erf(x[i]);
  },
  gelu: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = gelu(x[i]);
  },
  relu: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? x[i] : x[i] <= 0 ? 0 : NaN;
  },
  step: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? 1 : x[i] <= 0 ? 0 : NaN;
  },
};

const FAST_LOOPS: Partial<Record<UnaryFn, Loop>> = {
  erf: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = erfFast(x[i]);
  },
  gelu: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = geluFast(x[i]);
  },
  exp: (x, y) => {
    for (let i = 0; i < y.length; i++) y[i] = expFast(x[i]);
  },
};

/**
 * Row kernels of the four arithmetic ops (monomorphic loops, no call per element); unit strides on both sides
 * (a bias added to rows) take a loop without index arithmetic, ~3× faster in V8.
 */
const ARITH: Record<"add" | "sub" | "mul" | "div", (a: Arr, b: Arr, y: Arr) => Row> = {
  add: (a, b, y) => (o, pa, pb, n, ia, ib) => {
    if (ia === 1 && ib === 1) { for (let i = 0; i < n; i++) y[o + i] = a[pa + i] + b[pb + i]; }
    else for (let i = 0; i < n; i++) y[o + i] = a[pa + i * ia] + b[pb + i * ib];
  },
  sub: (a, b, y) => (o, pa, pb, n, ia, ib) => {
    if (ia === 1 && ib === 1) { for (let i = 0; i < n; i++) y[o + i] = a[pa + i] - b[pb + i]; }
    else for (let i = 0; i < n; i++) y[o + i] = a[pa + i * ia] - b[pb + i * ib];
  },
  mul: (a, b, y) => (o, pa, pb, n, ia, ib) => {
    if (ia === 1 && ib === 1) { for (let i = 0; i < n; i++) y[o + i] = a[pa + i] * b[pb + i]; }
    else for (let i = 0; i < n; i++) y[o + i] = a[pa + i * ia] * b[pb + i * ib];
  },
  div: (a, b, y) => (o, pa, pb, n, ia, ib) => {
    if (ia === 1 && ib === 1) { for (let i = 0; i < n; i++) y[o + i] = a[pa + i] / b[pb + i]; }
    else for (let i = 0; i < n; i++) y[o + i] = a[pa + i * ia] / b[pb + i * ib];
  },
};

/** y[i] = x[i]·scale + bias. */
export function affine(scale: number, bias: number, x: Arr, y: Arr): void {
  if (bias === 0) { for (let i = 0; i < y.length; i++) y[i] = x[i] * scale; }
  else for (let i = 0; i < y.length; i++) y[i] = x[i] * scale + bias;
}

/**
 * Visit every element of `shape` a row at a time: row(outStart, offA, offB, n, strideA, strideB) covers the n
 * elements of the innermost axis, so kernels run tight inner loops instead of a call per element.
 */
function walkRows(shape: number[], sa: number[], sb: number[], offA: number, offB: number, row: Row): void {
  const rank = shape.length;
  if (rank === 0) return row(0, offA, offB, 1, 0, 0);
  const n = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d];
  if (rows === 0 || n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let a = offA, b = offB;
  for (let r = 0; r < rows; r++) {
    row(r * n, a, b, n, ia, ib);
    for (let d = rank - 2; d >= 0; d--) {
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
type Row = (out: number, a: number, b: number, n: number, ia: number, ib: number) => void;

/** y (shape) = fn(a, b) with broadcast strides; `exact` selects the float64 oracle's GELU derivative. */
export function binary(
  fn: BinaryFn,
  shape: number[],
  aStrides: number[],
  bStrides: number[],
  a: Arr,
  b: Arr,
  y: Arr,
  exact: boolean,
): void {
  if (
    a.length === y.length && b.length === y.length && isContiguous(shape, aStrides) && isContiguous(shape, bStrides)
  ) {
    const loop = exact ? undefined : SAME_SHAPE_FAST[fn];
    (loop ?? SAME_SHAPE[fn])(a, b, y);
    return;
  }
  if (fn === "add" || fn === "mul" || fn === "sub" || fn === "div") {
    walkRows(shape, aStrides, bStrides, 0, 0, ARITH[fn](a, b, y));
    return;
  }
  const f = exact || fn !== "geluBackward" ? BINARY[fn] : geluBackwardFast;
  walkRows(shape, aStrides, bStrides, 0, 0, (o, pa, pb, n, ia, ib) => {
    for (let i = 0; i < n; i++) y[o + i] = f(a[pa + i * ia], b[pb + i * ib]);
  });
}

type Loop2 = (a: Arr, b: Arr, y: Arr) => void;

/** Same-shape binary loops, one per function (a shared loop calling `f(a[i], b[i])` is ~5× slower in V8). */
const SAME_SHAPE: Record<BinaryFn, Loop2> = {
  add: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
  },
  sub: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = a[i] - b[i];
  },
  mul: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = a[i] * b[i];
  },
  div: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = a[i] / b[i];
  },
  pow: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.pow(a[i], b[i]);
  },
  max: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = BINARY.max(a[i], b[i]);
  },
  eq: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = BINARY.eq(a[i], b[i]);
  },
  gt: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = BINARY.gt(a[i], b[i]);
  },
  geluBackward: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = geluBackward(a[i], b[i]);
  },
};

const SAME_SHAPE_FAST: Partial<Record<BinaryFn, Loop2>> = {
  geluBackward: (a, b, y) => {
    for (let i = 0; i < y.length; i++) y[i] = geluBackwardFast(a[i], b[i]);
  },
};

/** y (shape, contiguous) = x[offset + Σ idx·strides]. */
export function strided(shape: number[], strides: number[], offset: number, x: Arr, y: Arr): void {
  walkRows(shape, strides, strides, offset, offset, (o, p, _q, n, ip) => {
    if (ip === 1) { for (let i = 0; i < n; i++) y[o + i] = x[p + i]; }
    else for (let i = 0; i < n; i++) y[o + i] = x[p + i * ip];
  });
}

/** dst[offset + Σ idx·strides] = src (shape, contiguous). */
export function scatterStrided(shape: number[], strides: number[], offset: number, src: Arr, dst: Arr): void {
  walkRows(shape, strides, strides, offset, offset, (o, p, _q, n, ip) => {
    if (ip === 1) { for (let i = 0; i < n; i++) dst[p + i] = src[o + i]; }
    else for (let i = 0; i < n; i++) dst[p + i * ip] = src[o + i];
  });
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}
