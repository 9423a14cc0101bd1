/**
 * How the CPU backend cuts a float32 matrix product into BLAS calls, and one thread's share of them. The cut
 * depends on the shapes only, never on the thread count, and every call runs on one BLAS thread: each element of C
 * is then computed by the same call whichever thread makes it, so products are bit-identical on any number of
 * threads (OpenBLAS's own rounding depends on its thread count, and a block of rows does not round as the whole
 * product does, so neither may vary with the threads). threads.ts hands units to threads; the main thread and the
 * workers call `gemmUnits` on theirs.
 * Legend: M N K matmul dims.
 * @module
 */
import type { OpAttrs } from "../backend.ts";
import type { Gemm } from "./blas.ts";

/** The tag of a product's units in a worker's argument slot (kernel calls have indices ≥ 0). */
export const GEMM_CALL = -1;
/** Products of fewer multiply-adds stay one call (a block would be too small to be worth a call). */
export const ONE_CALL_BELOW = 2 ** 21;
/**
 * Blocks of C's rows (or columns) are multiples of BLOCK_ALIGN, at least MIN_BLOCK (smaller calls lost to the
 * packing BLAS repeats per call: 8 blocks of 64 rows of a 512×64·64×256 product took twice one call's time), at
 * most MAX_BLOCKS of them.
 */
const BLOCK_ALIGN = 64, MIN_BLOCK = 256, MAX_BLOCKS = 4;

/** The units of a product: its batches, blocks of `block` rows or columns of C, or one call. */
export interface GemmPlan {
  axis: "batch" | "rows" | "cols" | "one";
  units: number;
  block: number;
}

export const AXES = ["batch", "rows", "cols", "one"] as const;

/** The cut of a product (shapes only). */
export function gemmPlan(a: OpAttrs["matmul"]): GemmPlan {
  if (a.batch > 1) return { axis: "batch", units: a.batch, block: 1 };
  const blocks = (len: number) => {
    const block = Math.max(MIN_BLOCK, BLOCK_ALIGN * Math.ceil(len / (BLOCK_ALIGN * MAX_BLOCKS)));
    return { units: Math.ceil(len / block), block };
  };
  if (a.m * a.n * a.k >= ONE_CALL_BELOW) {
    if (a.m > MIN_BLOCK) return { axis: "rows", ...blocks(a.m) };
    if (a.n > MIN_BLOCK) return { axis: "cols", ...blocks(a.n) };
  }
  return { axis: "one", units: 1, block: 0 };
}

/**
 * Units [lo, hi) of a product, one BLAS call each: C = op(A)·op(B) with A (M, K), or (K, M) when transA, B (K, N),
 * or (N, K) when transB, C (M, N), all row-major at byte offsets aPtr, bPtr, cPtr of their buffers; batch strides
 * in elements (0 shares an operand); `axis` an index into AXES.
 */
export function gemmUnits(
  gemm: Gemm,
  bufs: [ArrayBufferLike, ArrayBufferLike, ArrayBufferLike],
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
  axis: number,
  block: number,
  lo: number,
  hi: number,
): void {
  const tA = transA === 1, tB = transB === 1, lda = tA ? m : k, ldb = tB ? k : n;
  // A view of a (rows × cols) block with leading dim ld at byte offset ptr.
  const view = (buf: ArrayBufferLike, ptr: number, rows: number, cols: number, ld: number) =>
    new Float32Array(buf, ptr, (rows - 1) * ld + cols);
  const A = (ptr: number, r0: number, rows: number) =>
    tA ? view(bufs[0], ptr + 4 * r0, k, rows, m) : view(bufs[0], ptr + 4 * r0 * k, rows, k, k);
  const B = (ptr: number, c0: number, cols: number) =>
    tB ? view(bufs[1], ptr + 4 * c0 * k, cols, k, k) : view(bufs[1], ptr + 4 * c0, k, cols, n);
  for (let u = lo; u < hi; u++) {
    if (AXES[axis] === "batch" || AXES[axis] === "one") {
      const a = A(aPtr + 4 * u * aBatchStride, 0, m), b = B(bPtr + 4 * u * bBatchStride, 0, n);
      gemm(tA, tB, m, n, k, a, lda, b, ldb, view(bufs[2], cPtr + 4 * u * m * n, m, n, n), n);
    } else if (AXES[axis] === "rows") {
      const r0 = u * block, rows = Math.min(m, r0 + block) - r0;
      gemm(
        tA,
        tB,
        rows,
        n,
        k,
        A(aPtr, r0, rows),
        lda,
        B(bPtr, 0, n),
        ldb,
        view(bufs[2], cPtr + 4 * r0 * n, rows, n, n),
        n,
      );
    } else {
      const c0 = u * block, cols = Math.min(n, c0 + block) - c0;
      gemm(tA, tB, m, cols, k, A(aPtr, 0, m), lda, B(bPtr, c0, cols), ldb, view(bufs[2], cPtr + 4 * c0, m, cols, n), n);
    }
  }
}
