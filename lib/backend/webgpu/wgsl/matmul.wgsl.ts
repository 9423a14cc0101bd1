/**
 * Batched matrix product c (B, M, N) = op(a) (M, K) · op(b) (K, N) from storage buffers: the fallback where the
 * texture kernel (matmul_texture.wgsl.ts) cannot run (an operand past maxTextureDimension2D). Register-blocked: each invocation computes a
 * TM×TN block of c, walking K four at a time, with no workgroup memory and 1-D workgroups (the fastest shape
 * measured on the emulated adapter, and a sound one on real GPUs). A workgroup covers TM rows and WG·TN columns,
 * so every a load has an address uniform across the workgroup (llvmpipe then loads once instead of per lane).
 * Edge blocks clamp their load indices into range and mask their stores (no divergent branch before the loop),
 * so M, N, K need not be multiples of anything and no read is out of bounds. Measured on llvmpipe at 512³: 8×8
 * beats 4×8, 8×4, 12×4 and 4×4 by 25–100%, and columns strided by WG (coalesced on real GPUs) lose ~35%.
 * Why: llvmpipe (Mesa 22.3) runs every storage load as a loop over the 8 SIMD lanes, uniform address or not, so
 * the cost is the TM + TN values each invocation loads per k against its TM·TN FMAs. 8×16 (kernel alone, 8–32
 * lanes): 256³ 15 → 21, 512³ 19 → 22, 1024³ 16 → 20 GFLOP/s over 8×8; 16×16 and 8×32 spill and lose again.
 *
 * Operands are read as vec4 along their contiguous axis when that size and the batch stride are multiples of 4
 * (`vecA`, `vecB`). Stored layouts: a is (M, K), or (K, M) when transA; b is (K, N), or (N, K) when transB.
 * Legend: B batch, M/N/K matmul dims, TM/TN rows/columns per invocation, WG invocations per workgroup.
 * @module
 */
import { PRELUDE } from "./common.wgsl.ts";

/** Shader variant of the matrix product. */
export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  /** Read a as vec4 along its contiguous axis (K if !transA, M if transA); needs that size and stride % 4 = 0. */
  vecA: boolean;
  /** Read b as vec4 along its contiguous axis (N if !transB, K if transB); same alignment rule. */
  vecB: boolean;
  /** Rows of c per invocation (multiple of 4). */
  tm: number;
  /** Columns of c per invocation (multiple of 4). */
  tn: number;
  /** Invocations per workgroup. */
  wg: number;
}

const range = (n: number) => [...Array(n).keys()];

/** WGSL loading a_r_q (rows i0+r, k = kk+q) and vec4 b_q_h (columns 4h..4h+3 of the invocation), then the FMAs. */
function step(v: MatmulVariant, ku: number): string {
  const { tm, tn } = v;
  const out: string[] = [];
  if (v.vecA && !v.transA) {
    for (const r of range(tm)) out.push(`let av_${r} = A4[(aOff + ri_${r} * K + kk) / 4u];`);
    for (const r of range(tm)) for (const q of range(ku)) out.push(`let a_${r}_${q} = av_${r}[${q}];`);
  } else if (v.vecA) {
    for (const q of range(ku)) {
      for (const h of range(tm / 4)) out.push(`let ac_${q}_${h} = A4[(aOff + (kk + ${q}u) * M) / 4u + ai4_${h}];`);
      for (const r of range(tm)) out.push(`let a_${r}_${q} = ac_${q}_${r >> 2}[${r & 3}];`);
    }
  } else {
    for (const r of range(tm)) {
      for (const q of range(ku)) {
        out.push(
          `let a_${r}_${q} = A[aOff + ${v.transA ? `(kk + ${q}u) * M + ri_${r}` : `ri_${r} * K + kk + ${q}u`}];`,
        );
      }
    }
  }
  if (v.vecB && !v.transB) {
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) out.push(`let b_${q}_${h} = B4[(bOff + (kk + ${q}u) * N) / 4u + bj4_${h}];`);
    }
  } else if (v.vecB) {
    for (const c of range(tn)) out.push(`let bv_${c} = B4[(bOff + ci_${c} * K + kk) / 4u];`);
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) {
        out.push(`let b_${q}_${h} = vec4<f32>(${range(4).map((e) => `bv_${4 * h + e}[${q}]`).join(", ")});`);
      }
    }
  } else {
    const at = (c: number, q: number) => (v.transB ? `ci_${c} * K + kk + ${q}u` : `(kk + ${q}u) * N + ci_${c}`);
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) {
        out.push(`let b_${q}_${h} = vec4<f32>(${range(4).map((e) => `B[bOff + ${at(4 * h + e, q)}]`).join(", ")});`);
      }
    }
  }
  for (const q of range(ku)) {
    for (const r of range(tm)) for (const h of range(tn / 4)) out.push(`acc_${r}_${h} += a_${r}_${q} * b_${q}_${h};`);
  }
  return out.join("\n    ");
}

/** The WGSL of one variant. Params: [B, M, N, K, aBatchStride, bBatchStride, ⌈M/TM⌉, ⌈N/(WG·TN)⌉]. */
export function matmulWgsl(v: MatmulVariant): string {
  const { tm, tn, wg } = v;
  const kVec = (v.vecA && !v.transA) || (v.vecB && v.transB); // a vec4 along K needs K % 4 = 0: no K tail
  const body: string[] = [
    "let g = wid.x + wid.y * nwg.x;",
    "let M = p(1u); let N = p(2u); let K = p(3u); let blocksM = p(6u); let blocksN = p(7u);",
    "if (g >= p(0u) * blocksM * blocksN) { return; }",
    "let bi = g / (blocksM * blocksN); let i0 = (g / blocksN) % blocksM * " +
    `${tm}u; let j0 = g % blocksN * ${wg * tn}u;`,
    "let aOff = bi * p(4u); let bOff = bi * p(5u);",
    ...range(tm).map((r) => `let ri_${r} = min(i0 + ${r}u, M - 1u);`),
    ...range(tn).map((c) => `let cj_${c} = j0 + li * ${tn}u + ${c}u; let ci_${c} = min(cj_${c}, N - 1u);`),
    ...(v.vecA && v.transA ? range(tm / 4).map((h) => `let ai4_${h} = min(i0 / 4u + ${h}u, M / 4u - 1u);`) : []),
    ...(v.vecB && !v.transB ? range(tn / 4).map((h) => `let bj4_${h} = min(ci_0 / 4u + ${h}u, N / 4u - 1u);`) : []),
    ...range(tm).flatMap((r) => range(tn / 4).map((h) => `var acc_${r}_${h} = vec4<f32>(0.0);`)),
    "var kk = 0u;",
    `for (; kk + 4u <= K; kk += 4u) {\n    ${step(v, 4)}\n  }`,
    ...(kVec ? [] : [`for (; kk < K; kk += 1u) {\n    ${step(v, 1)}\n  }`]),
    "let cOff = bi * M * N;",
  ];
  for (const r of range(tm)) {
    for (const c of range(tn)) {
      const to = `C[cOff + (i0 + ${r}u) * N + cj_${c}] = acc_${r}_${c >> 2}[${c & 3}];`;
      body.push(`if (i0 + ${r}u < M && cj_${c} < N) { ${to} }`);
    }
  }
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> ${v.vecA ? "A4: array<vec4<f32>>" : "A: array<f32>"};
@group(0) @binding(3) var<storage, read> ${v.vecB ? "B4: array<vec4<f32>>" : "B: array<f32>"};
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  ${body.join("\n  ")}
}`;
}
