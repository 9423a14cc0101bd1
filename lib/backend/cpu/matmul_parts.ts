/**
 * Batches [lo, hi) of a batched float32 matrix product on heap pointers, as a thread of a split product runs them
 * (threads.ts): one BLAS call per batch on this thread. The main thread and the workers call the same function on
 * their own batches.
 * Legend: M N K matmul dims.
 * @module
 */
import type { Gemm } from "./blas.ts";

/** The tag of a product block in a worker's argument slot (kernel calls have indices ≥ 0). */
export const GEMM_CALL = -1;

/**
 * C = op(A)·op(B) for batches [lo, hi). Pointers are byte offsets into `heap`; A is (M, K) or (K, M) when transA,
 * B (K, N) or (N, K) when transB, C (M, N), all row-major; batch strides are in elements (0 shares an operand).
 */
export function gemmUnits(
  gemm: Gemm,
  heap: SharedArrayBuffer,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  aPtr: number,
  bPtr: number,
  cPtr: number,
  aBatchStride: number,
  bBatchStride: number,
  lo: number,
  hi: number,
): void {
  const tA = transA === 1, tB = transB === 1;
  const view = (ptr: number, length: number) => new Float32Array(heap, ptr, length);
  const lda = tA ? m : k, ldb = tB ? k : n;
  for (let i = lo; i < hi; i++) {
    const a = view(aPtr + 4 * i * aBatchStride, m * k), b = view(bPtr + 4 * i * bBatchStride, k * n);
    gemm(tA, tB, m, n, k, a, lda, b, ldb, view(cPtr + 4 * i * m * n, m * n), n);
  }
}
