/**
 * Batched matrix product on the CPU: float32 goes through a `Sgemm` (OpenBLAS when present, else the blocked
 * TypeScript kernel); the float64 oracle uses a plain triple loop.
 * @module
 */
import type { OpAttrs } from "../backend.ts";
import type { Arr } from "./elementwise.ts";
import type { Sgemm } from "./gemm.ts";

/** c (batch, m, n) = op(a)·op(b) per batch. */
export function matmul(attrs: OpAttrs["matmul"], a: Arr, b: Arr, c: Arr, sgemm: Sgemm): void {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = attrs;
  for (let i = 0; i < batch; i++) {
    const aOff = i * aBatchStride, bOff = i * bBatchStride, cOff = i * m * n;
    if (a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array) {
      sgemm(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
    } else {
      naive(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
    }
  }
}

function naive(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  a: Arr,
  aOff: number,
  b: Arr,
  bOff: number,
  c: Arr,
  cOff: number,
) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOff + (tA ? p * m + i : i * k + p)] * b[bOff + (tB ? j * k + p : p * n + j)];
      c[cOff + i * n + j] = s;
    }
  }
}
