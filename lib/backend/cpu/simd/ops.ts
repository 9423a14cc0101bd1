/**
 * Which CPU ops run on the SIMD kernels, and how: for each op, `ok` says whether these attributes fit a kernel,
 * and `run` does units [lo, hi) (the same units as the op's part in parts.ts, so a call splits across threads as
 * the TypeScript kernels do) on pointers into the heap. The float64 oracle never comes here.
 * @module
 */
import type { BinaryFn, OpAttrs, OpName } from "../../backend.ts";
import type { Arr } from "../elementwise.ts";
import { allocate, heapKernels, type Kernels, owns, release } from "./heap.ts";
import { PARTS } from "../parts.ts";

/**
 * A SIMD kernel for one op: `outs`, `ins` and `scratch` are byte offsets into the heap; `ns` is roughly what an
 * element costs on one thread (a worker round trip, ~45 µs, pays only for parts of ≥ ~65 µs, see threads.ts).
 */
export interface SimdPart<A> {
  ok(attrs: A, outs: Arr[], ins: Arr[]): boolean;
  ns(attrs: A): number;
  run(k: Kernels, lo: number, hi: number, attrs: A, outs: number[], ins: number[], scratch: number): void;
}

const BINARY_FN: Partial<Record<BinaryFn, number>> = { add: 0, sub: 1, mul: 2, div: 3, geluBackward: 4 };

/** How a binary operand covers y viewed as (rows, last axis): its whole block, one row for all, or one scalar. */
function operandForm(shape: number[], strides: number[]): "full" | "row" | "scalar" | null {
  const last = shape.length - 1;
  let contiguous = true, expect = 1, zeroLead = true;
  for (let d = last; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) contiguous = false;
    if (d < last && shape[d] !== 1 && strides[d] !== 0) zeroLead = false;
    expect *= shape[d];
  }
  if (contiguous) return "full";
  if (!zeroLead) return null;
  if (shape[last] === 1 || strides[last] === 0) return "scalar";
  return strides[last] === 1 ? "row" : null;
}

/** y viewed as (rows, n) with n the last axis, and the rows per unit of binary's part (its first axis). */
function binaryRows(shape: number[]): { n: number; perUnit: number } {
  const n = shape[shape.length - 1];
  let perUnit = 1;
  for (let d = 1; d < shape.length - 1; d++) perUnit *= shape[d];
  return { n, perUnit };
}

const f32 = (...arrs: Arr[]) => arrs.every((a) => a instanceof Float32Array);

/** The ops with a SIMD kernel. */
export const SIMD: { [K in OpName]?: SimdPart<OpAttrs[K]> } = {
  unary: {
    ok: (a, [y], [x]) => (a.fn === "gelu" || a.fn === "exp") && f32(y, x),
    ns: (a) => (a.fn === "gelu" ? 1.5 : 1.2),
    run: (k, lo, hi, a, [y], [x]) => k.unary(a.fn === "gelu" ? 0 : 1, x, y, lo, hi),
  },
  affine: {
    ok: (_a, [y], [x]) => f32(y, x),
    ns: () => 0.3,
    run: (k, lo, hi, a, [y], [x]) => k.affine(x, y, lo, hi, a.scale, a.bias),
  },
  binary: {
    ok: (a, [y], [xa, xb]) =>
      a.fn in BINARY_FN && f32(y, xa, xb) && a.shape.length > 0 && !a.shape.includes(0) &&
      operandForm(a.shape, a.aStrides) !== null && operandForm(a.shape, a.bStrides) !== null,
    ns: (a) => (a.fn === "geluBackward" ? 4 : 0.4),
    run: (k, lo, hi, a, [y], [xa, xb]) => {
      const fa = operandForm(a.shape, a.aStrides)!, fb = operandForm(a.shape, a.bStrides)!;
      const fn = BINARY_FN[a.fn]!;
      if (a.shape.length === 1) {
        // Units are elements: one row of hi − lo, every full operand offset to lo.
        const at = (p: number, f: string) => (f === "full" ? p + 4 * lo : p);
        return k.binary(
          fn,
          at(xa, fa),
          at(xb, fb),
          y + 4 * lo,
          0,
          1,
          hi - lo,
          0,
          +(fa !== "full"),
          0,
          +(fb !== "full"),
        );
      }
      const { n, perUnit } = binaryRows(a.shape);
      const rs = (f: string) => (f === "full" ? n : 0);
      k.binary(fn, xa, xb, y, lo * perUnit, hi * perUnit, n, rs(fa), +(fa === "scalar"), rs(fb), +(fb === "scalar"));
    },
  },
  // Copies of any float32 view of rank 1…6 (int32 views stay in TypeScript).
  strided: {
    ok: (a, [y], [x]) => a.shape.length >= 1 && a.shape.length <= 6 && f32(y, x),
    ns: (a) => (a.strides[a.strides.length - 1] === 1 ? 0.3 : 3),
    run: (k, lo, hi, a, [y], [x]) => {
      const { shape, strides, offset } = a;
      if (shape.length === 1) {
        return k.strided(x, y + 4 * lo, 0, 1, offset + lo * strides[0], 1, 1, 1, 1, hi - lo, 0, 0, 0, 0, 0, strides[0]);
      }
      // Axis 0 (the split one), size-1 axes, then the rest: (n0, 1…, n1, …, n_last).
      const pad = 6 - shape.length;
      const n = [...Array(pad).fill(1), ...shape.slice(1)], s = [...Array(pad).fill(0), ...strides.slice(1)];
      k.strided(x, y, lo, hi, offset, n[0], n[1], n[2], n[3], n[4], strides[0], s[0], s[1], s[2], s[3], s[4]);
    },
  },
  reduce: {
    ok: (a, [y], [x]) => a.fn === "sum" && f32(y, x),
    ns: () => 0.3,
    run: (k, lo, hi, a, [y], [x]) =>
      a.outer === 1 ? k.sum(x, y, 0, 1, a.size, a.inner, lo, hi) : k.sum(x, y, lo, hi, a.size, a.inner, 0, a.inner),
  },
  softmax: {
    ok: (_a, [y], [x]) => f32(y, x),
    ns: () => 1.5,
    run: (k, lo, hi, a, [y], [x]) => k.softmax(x, y, lo, hi, a.cols, a.causalTq ?? 0),
  },
  softmaxBackward: {
    ok: (_a, [dx], [y, dy]) => f32(dx, y, dy),
    ns: () => 0.5,
    run: (k, lo, hi, a, [dx], [y, dy]) => k.softmax_backward(y, dy, dx, lo, hi, a.cols),
  },
  layerNorm: {
    ok: (_a, outs, ins) => f32(...outs, ...ins),
    ns: () => 0.6,
    run: (k, lo, hi, a, [y, m, r], [x, g, b]) => k.layer_norm(x, g, b, y, m, r, lo, hi, a.cols, a.eps),
  },
  layerNormBackward: {
    ok: (_a, outs, ins) => f32(...outs, ...ins),
    ns: () => 1.5,
    run: (k, lo, hi, a, [dx], [dy, x, g, m, r], scratch) =>
      k.layer_norm_backward(dy, x, g, m, r, dx, scratch, lo, hi, a.cols),
  },
  crossEntropy: {
    ok: (_a, [loss, lse], [x, t]) => f32(loss, lse, x) && t instanceof Int32Array,
    ns: () => 1.3,
    run: (k, lo, hi, a, [loss, lse], [x, t]) => k.cross_entropy(x, t, loss, lse, lo, hi, a.cols),
  },
  crossEntropyBackward: {
    ok: (_a, [dx], [x, t, lse, dl]) => f32(dx, x, lse, dl) && t instanceof Int32Array,
    ns: () => 1.3,
    run: (k, lo, hi, a, [dx], [x, t, lse, dl]) => k.cross_entropy_backward(x, t, lse, dl, dx, lo, hi, a.cols),
  },
  adamw: {
    ok: (_a, outs, ins) => f32(...outs, ...ins),
    ns: () => 2,
    run: (k, lo, hi, a, [p, m, v], [_p, _m, _v, g]) => {
      const stepSize = a.lr * Math.sqrt(1 - a.beta2 ** a.step) / (1 - a.beta1 ** a.step);
      k.adamw(p, m, v, g, lo, hi, a.beta1, a.beta2, a.eps, a.lr * a.weightDecay, stepSize);
    },
  },
};

/** Whether `op` runs on a SIMD kernel with these arrays: every array in the heap and the kernel fits. */
export function simdApplies<K extends OpName>(op: K, attrs: OpAttrs[K], outs: Arr[], ins: Arr[]): boolean {
  const s = SIMD[op] as SimdPart<OpAttrs[K]> | undefined;
  return !!s && outs.every(owns) && ins.every(owns) && s.ok(attrs, outs, ins) && heapKernels() !== null;
}

/** Pointers of heap arrays (their byte offsets). */
export const pointers = (arrs: { byteOffset: number }[]): number[] => arrs.map((a) => a.byteOffset);

/** Run all of a SIMD op on this thread (when it is not split), with its scratch in the heap. */
export function runSimd<K extends OpName>(op: K, attrs: OpAttrs[K], outs: Arr[], ins: Arr[]): void {
  const part = PARTS[op] as import("../parts.ts").Part<OpAttrs[K]>;
  const s = SIMD[op] as SimdPart<OpAttrs[K]>;
  const per = part.scratch?.(attrs) ?? 0;
  const scratch = per ? allocate("f64", per) : null;
  if (per && !scratch) throw new Error(`Cannot allocate ${per * 8} bytes of scratch for ${op} in the heap`);
  try {
    s.run(
      heapKernels()!,
      0,
      part.split(attrs, outs).units,
      attrs,
      pointers(outs),
      pointers(ins),
      scratch?.byteOffset ?? 0,
    );
    if (scratch) part.combine!(scratch as Float64Array, per, 1, outs);
  } finally {
    if (scratch) release(scratch);
  }
}
