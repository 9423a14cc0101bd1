/**
 * Single-precision matrix product in plain TypeScript, blocked the GotoBLAS way: a kc×nc panel of op(B) and an
 * mc×kc block of op(A) are packed into contiguous scratch (zero-padded to whole 3-tall and 4-wide strips, so
 * transposes and odd edges cost nothing in the inner loop), then a 3×4 register-blocked micro-kernel accumulates
 * into C.
 * This is the fallback when no system BLAS loads (see `blas.ts`).
 *
 * Legend: M N K matmul dims; MR NR micro-tile; MC NC KC cache blocks.
 * @module
 */

/**
 * C (m×n, row-major, contiguous from `cOff`) = op(A)·op(B), overwriting C (beta = 0). A is stored row-major
 * (m×k), or (k×m) when `transA`; B is (k×n), or (n×k) when `transB`; all contiguous, leading dims implied.
 * C must not overlap A or B.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
) => void;

const MR = 3, NR = 4;
// 3×4 keeps 12 accumulators + 4 B values + 1 A value in x86-64's 16 XMM registers (plus one spill at most): it
// measured ~5.7 GFLOP/s against ~4 for 4×4, 2×8, 4×8 and 8×4, which spill. Blocks (8-byte packed elements), as
// in GotoBLAS: the MC×KC A block (192 KiB) stays in L2, the KC×NC B panel (1 MiB) in L3, a KC×NR strip (8 KiB)
// of it in L1 while the micro-kernel sweeps the A block.
const MC = 96, KC = 256, NC = 512;

// Packed panels are Float64Array: the micro-kernel then loads doubles directly, with no f32→f64 conversion per
// element (measured faster than Float32Array scratch under V8). Grown on first use (at most MC·KC and KC·NC), so
// a process that multiplies through BLAS never allocates them.
let packA = new Float64Array(0);
let packB = new Float64Array(0);

/**
 * Cache-blocked, register-blocked TypeScript `Sgemm` (~5–6 GFLOP/s on one core, against ~325 for OpenBLAS on two).
 * Products accumulate in float64 and round into C once per 256-long slice of k.
 * @example
 * ```ts
 * import { sgemmTs } from "./gemm.ts";
 * const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]), c = new Float32Array(4);
 * sgemmTs(false, false, 2, 2, 2, a, 0, b, 0, c, 0);
 * if (c.join() !== "19,22,43,50") throw new Error(`Wrong product "${c}"`);
 * ```
 */
export const sgemmTs: Sgemm = (transA, transB, m, n, k, a, aOff, b, bOff, c, cOff) => {
  c.fill(0, cOff, cOff + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelB(transB, n, k, b, bOff, pc, kc, jc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packBlockA(transA, m, k, a, aOff, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          for (let ir = 0; ir < mc; ir += MR) {
            const ci = cOff + (ic + ir) * n + jc + jr;
            micro(kc, ir * kc, jr * kc, c, ci, n, Math.min(MR, mc - ir), Math.min(NR, nc - jr));
          }
        }
      }
    }
  }
};

/** Packs op(B)[pc:pc+kc, jc:jc+nc] as NR-wide strips: packB[(jr·kc + p)·NR + jj], zero past column n. */
function packPanelB(
  tB: boolean,
  n: number,
  k: number,
  b: Float32Array,
  bOff: number,
  pc: number,
  kc: number,
  jc: number,
  nc: number,
) {
  const need = kc * Math.ceil(nc / NR) * NR;
  if (packB.length < need) packB = new Float64Array(need);
  const pb = packB;
  for (let jr = 0; jr < nc; jr += NR) {
    const w = Math.min(NR, nc - jr), base = jr * kc;
    for (let jj = 0; jj < NR; jj++) {
      const j = jc + jr + jj;
      if (jj >= w) {
        for (let p = 0; p < kc; p++) pb[base + p * NR + jj] = 0;
      } else if (tB) {
        const src = bOff + j * k + pc; // B stored (n, k): row j is contiguous over p
        for (let p = 0; p < kc; p++) pb[base + p * NR + jj] = b[src + p];
      } else {
        const src = bOff + pc * n + j;
        for (let p = 0; p < kc; p++) pb[base + p * NR + jj] = b[src + p * n];
      }
    }
  }
}

/** Packs op(A)[ic:ic+mc, pc:pc+kc] as MR-tall strips: packA[(ir·kc + p)·MR + ii], zero past row m. */
function packBlockA(
  tA: boolean,
  m: number,
  k: number,
  a: Float32Array,
  aOff: number,
  ic: number,
  mc: number,
  pc: number,
  kc: number,
) {
  const need = kc * Math.ceil(mc / MR) * MR;
  if (packA.length < need) packA = new Float64Array(need);
  const pa = packA;
  for (let ir = 0; ir < mc; ir += MR) {
    const h = Math.min(MR, mc - ir), base = ir * kc;
    for (let ii = 0; ii < MR; ii++) {
      const i = ic + ir + ii;
      if (ii >= h) {
        for (let p = 0; p < kc; p++) pa[base + p * MR + ii] = 0;
      } else if (tA) {
        const src = aOff + pc * m + i; // A stored (k, m)
        for (let p = 0; p < kc; p++) pa[base + p * MR + ii] = a[src + p * m];
      } else {
        const src = aOff + i * k + pc;
        for (let p = 0; p < kc; p++) pa[base + p * MR + ii] = a[src + p];
      }
    }
  }
}

/** C[h×w tile at ci, row stride n] += packA strip (at ai) · packB strip (at bi) over kc; 12 accumulators in locals. */
function micro(kc: number, ai: number, bi: number, c: Float32Array, ci: number, n: number, h: number, w: number) {
  const pa = packA, pb = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0, c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  const end = ai + kc * MR;
  for (; ai < end; ai += MR, bi += NR) {
    const b0 = pb[bi], b1 = pb[bi + 1], b2 = pb[bi + 2], b3 = pb[bi + 3];
    const a0 = pa[ai];
    c00 += a0 * b0, c01 += a0 * b1, c02 += a0 * b2, c03 += a0 * b3;
    const a1 = pa[ai + 1];
    c10 += a1 * b0, c11 += a1 * b1, c12 += a1 * b2, c13 += a1 * b3;
    const a2 = pa[ai + 2];
    c20 += a2 * b0, c21 += a2 * b1, c22 += a2 * b2, c23 += a2 * b3;
  }
  if (h === MR && w === NR) {
    c[ci] += c00, c[ci + 1] += c01, c[ci + 2] += c02, c[ci + 3] += c03;
    ci += n;
    c[ci] += c10, c[ci + 1] += c11, c[ci + 2] += c12, c[ci + 3] += c13;
    ci += n;
    c[ci] += c20, c[ci + 1] += c21, c[ci + 2] += c22, c[ci + 3] += c23;
    return;
  }
  const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23];
  for (let ii = 0; ii < h; ii++) for (let jj = 0; jj < w; jj++) c[ci + ii * n + jj] += t[ii * NR + jj];
}
