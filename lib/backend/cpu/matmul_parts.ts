/**
 * How the CPU backend cuts a float32 matrix product into BLAS calls, and one thread's share of them. The cut
 * depends on the shapes only, never on the thread count, and every call runs on one BLAS thread: each element of C
 * is then computed by the same call whichever thread makes it, so products are bit-identical on any number of
 * threads (OpenBLAS's own rounding depends on its thread count, and a block of rows does not round as the whole
 * product does, so neither may vary with the threads). `runMatmul` hands units to the threads of threads.ts; the
 * main thread and the workers call `gemmUnits` on theirs.
 * Legend: M N K matmul dims.
 * @module
 */
import type { OpAttrs } from "../backend.ts";
import type { Blas, Gemm } from "./blas.ts";
import { owns } from "./simd/heap.ts";
import { bounds, join, postCall, readyOf } from "./threads.ts";

/** The tag of a product's units in a worker's argument slot (kernel calls have indices ≥ 0). */
export const GEMM_CALL = -1;
/** Products of fewer multiply-adds stay one call (a block would be too small to be worth a call). */
export const ONE_CALL_BELOW = 2 ** 21;
/**
 * Least work for a thread's part of a matrix product: 2^23 multiply-adds, ~170 µs at ~50 GFLOP/s on one thread, so
 * that waking a sleeping worker (~0.1 ms here, more on a loaded machine) pays.
 */
const MIN_GEMM_PART = 2 ** 23;
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

/**
 * A float32 matrix product through BLAS: the units of its shape's plan (matmul_parts.ts) over up to `threads`
 * threads, every call on one BLAS thread, so the result is the same on any number of threads. Units stay on this
 * thread when the arrays are outside the heap, or when a part would have under `minPart` multiply-adds. Returns the
 * number of threads that took part.
 */
export function runMatmul(
  threads: number,
  a: OpAttrs["matmul"],
  c: Float32Array,
  x: Float32Array,
  w: Float32Array,
  blas: Blas,
  minPart = MIN_GEMM_PART,
): number {
  const { batch, m, n: cols, k, transA, transB, aBatchStride, bBatchStride } = a;
  // BLAS reads raw memory: a short array would be read past its end, not clamped like a subarray.
  if (
    (batch - 1) * aBatchStride + m * k > x.length || (batch - 1) * bBatchStride + k * cols > w.length ||
    batch * m * cols > c.length
  ) {
    throw new RangeError(`Matrix product of ${batch}×(${m}×${k})·(${k}×${cols}) runs past an array: check sizes`);
  }
  if (batch * m * cols === 0) return 1;
  if (k === 0) return c.fill(0, 0, batch * m * cols), 1; // cblas rejects lda = 0; the product is all zeros
  blas.useThreads(1);
  const plan = gemmPlan(a), axis = AXES.indexOf(plan.axis);
  const heap = [c, x, w].every(owns);
  const want = heap ? Math.min(threads, plan.units, Math.floor(batch * m * cols * k / minPart)) : 1;
  const ready = want > 1 ? readyOf(want - 1) : [];
  const n = 1 + ready.length;
  const cut = bounds(plan.units, plan.units, 1, n);
  const call = (lo: number, hi: number): GemmArgs => [
    +transA,
    +transB,
    m,
    cols,
    k,
    x.byteOffset,
    w.byteOffset,
    c.byteOffset,
    aBatchStride,
    bBatchStride,
    axis,
    plan.block,
    lo,
    hi,
  ];
  for (let i = 1; i < n; i++) postCall(ready[i - 1], GEMM_CALL, call(cut[i], cut[i + 1]));
  gemmUnits(blas.gemm, [x.buffer, w.buffer, c.buffer], ...call(cut[0], cut[1]));
  join("matmul", ready, n);
  return n;
}

type GemmArgs = Parameters<typeof gemmUnits> extends [unknown, unknown, ...infer R] ? R : never;
