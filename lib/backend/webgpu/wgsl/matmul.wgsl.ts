/**
 * Batched matrix product c (B, M, N) = op(a) (M, K) · op(b) (K, N), register-blocked: each invocation computes a
 * TM×TN block of c, walking K four at a time, with no workgroup memory and 1-D workgroups (the fastest shape
 * measured on the emulated adapter, and a sound one on real GPUs). Edge blocks clamp their load indices into
 * range and mask their stores, so M, N, K need not be multiples of anything and no read is out of bounds.
 *
 * When an operand's contiguous axis and batch stride are multiples of 4 the shader reads it as vec4s (`vecA`,
 * `vecB`); otherwise it reads scalars. Stored layouts: a is (M, K), or (K, M) when transA; b is (K, N), or (N, K)
 * when transB. The kernel is specialised on (transA, transB, vecA, vecB, TM, TN); sizes come through the params.
 * Legend: B batch, M/N/K matmul dims, TM/TN rows/columns per invocation, KU = 4 (k unroll).
 * @module
 */
import { PRELUDE } from "./common.wgsl.ts";

/** Shader variant of the matrix product. */
export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  /** Read a as vec4 along its contiguous axis (K if !transA, M if transA). */
  vecA: boolean;
  /** Read b as vec4 along its contiguous axis (N if !transB, K if transB). */
  vecB: boolean;
  /** Rows of c per invocation (multiple of 4). */
  tm: number;
  /** Columns of c per invocation (multiple of 4). */
  tn: number;
  /** Invocations per workgroup. */
  wg: number;
  /** A workgroup covers gm × (wg / gm) blocks of c. */
  gm: number;
}

/** Workgroup size of the matrix product. */
export const MATMUL_WG = 64;

const range = (n: number) => [...Array(n).keys()];

/**
 * WGSL loading a[r][q] (scalars `a_r_q`) for rows i0+r and k = p+q, and b[q][·] (vec4s `b_q_h` covering columns
 * j0+4h..j0+4h+3), q < `ku`.
 */
function loads(v: MatmulVariant, ku: number): string {
  const { tm, tn } = v;
  const out: string[] = [];
  // a: (M, K) row-major unless transA. Row indices are clamped (ri_r), k indices are in range by loop bounds.
  if (!v.transA && v.vecA) {
    for (const r of range(tm)) out.push(`let av_${r} = A4[(aOff + ri_${r} * K + kk) / 4u];`);
    for (const r of range(tm)) for (const q of range(ku)) out.push(`let a_${r}_${q} = av_${r}[${q}];`);
  } else if (v.transA && v.vecA) {
    for (const q of range(ku)) {
      for (const h of range(tm / 4)) out.push(`let ac_${q}_${h} = A4[(aOff + (kk + ${q}u) * M) / 4u + ai4_${h}];`);
      for (const r of range(tm)) out.push(`let a_${r}_${q} = ac_${q}_${r >> 2}[${r & 3}];`);
    }
  } else {
    for (const r of range(tm)) {
      for (const q of range(ku)) {
        const idx = v.transA ? `(kk + ${q}u) * M + ri_${r}` : `ri_${r} * K + kk + ${q}u`;
        out.push(`let a_${r}_${q} = A[aOff + ${idx}];`);
      }
    }
  }
  // b: (K, N) row-major unless transB.
  if (!v.transB && v.vecB) {
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) out.push(`let b_${q}_${h} = B4[(bOff + (kk + ${q}u) * N) / 4u + bj4_${h}];`);
    }
  } else if (v.transB && v.vecB) {
    for (const c of range(tn)) out.push(`let bv_${c} = B4[(bOff + ci_${c} * K + kk) / 4u];`);
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) {
        const cs = range(4).map((e) => `bv_${4 * h + e}[${q}]`).join(", ");
        out.push(`let b_${q}_${h} = vec4<f32>(${cs});`);
      }
    }
  } else {
    for (const q of range(ku)) {
      for (const h of range(tn / 4)) {
        const cs = range(4).map((e) => {
          const c = `ci_${4 * h + e}`;
          return `B[bOff + ${v.transB ? `${c} * K + kk + ${q}u` : `(kk + ${q}u) * N + ${c}`}]`;
        });
        out.push(`let b_${q}_${h} = vec4<f32>(${cs.join(", ")});`);
      }
    }
  }
  for (const q of range(ku)) {
    for (const r of range(tm)) for (const h of range(tn / 4)) out.push(`acc_${r}_${h} += a_${r}_${q} * b_${q}_${h};`);
  }
  return out.join("\n      ");
}

/** The WGSL of one variant. Params: [B, M, N, K, aBatchStride, bBatchStride, ⌈M/TM⌉, ⌈N/TN⌉]. */
export function matmulWgsl(v: MatmulVariant): string {
  const { tm, tn } = v;
  const kVec = (!v.transA && v.vecA) || (v.transB && v.vecB); // a vec4 along K needs K % 4 = 0: no tail
  const decl = [
    `@group(0) @binding(1) var<storage, read_write> C: array<f32>;`,
    `@group(0) @binding(2) var<storage, read> ${v.vecA ? "A4: array<vec4<f32>>" : "A: array<f32>"};`,
    `@group(0) @binding(3) var<storage, read> ${v.vecB ? "B4: array<vec4<f32>>" : "B: array<f32>"};`,
  ];
  const body: string[] = [
    "let M = p(1u); let N = p(2u); let K = p(3u);",
    // gm = 1 (or wg): a's (b's) rows depend on the workgroup alone, so the compiler can see those loads are uniform.
    v.gm === 1
      ? `let tmi = bm; let tni = bn * ${v.wg}u + li;`
      : v.gm === v.wg
      ? `let tmi = bm * ${v.wg}u + li; let tni = bn;`
      : `let tmi = bm * ${v.gm}u + li / ${v.wg / v.gm}u; let tni = bn * ${v.wg / v.gm}u + li % ${v.wg / v.gm}u;`,
    "if (tmi >= p(6u) || tni >= p(7u)) { return; }",
    `let i0 = tmi * ${tm}u; let j0 = tni * ${tn}u;`,
    "let aOff = bi * p(4u); let bOff = bi * p(5u);",
    ...range(tm).map((r) => `let ri_${r} = min(i0 + ${r}u, M - 1u);`),
    ...range(tn).map((c) => `let ci_${c} = min(j0 + ${c}u, N - 1u);`),
    ...(v.transA && v.vecA ? range(tm / 4).map((h) => `let ai4_${h} = min(i0 / 4u + ${h}u, M / 4u - 1u);`) : []),
    ...(!v.transB && v.vecB ? range(tn / 4).map((h) => `let bj4_${h} = min(j0 / 4u + ${h}u, N / 4u - 1u);`) : []),
    ...range(tm).flatMap((r) => range(tn / 4).map((h) => `var acc_${r}_${h} = vec4<f32>(0.0);`)),
    "var kk = 0u;",
    `for (; kk + 4u <= K; kk += 4u) {\n      ${loads(v, 4)}\n  }`,
  ];
  if (!kVec) body.push(`for (; kk < K; kk += 1u) {\n      ${loads(v, 1)}\n  }`);
  body.push("let cOff = bi * M * N;");
  for (const r of range(tm)) {
    for (const c of range(tn)) {
      body.push(
        `if (i0 + ${r}u < M && j0 + ${c}u < N) { C[cOff + (i0 + ${r}u) * N + j0 + ${c}u] = acc_${r}_${c >> 2}[${
          c & 3
        }]; }`,
      );
    }
  }
  const main = /* wgsl */ `
@compute @workgroup_size(${v.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let g = wid.x + wid.y * nwg.x;
  let blocksM = p(8u); let blocksN = p(9u);
  if (g >= p(0u) * blocksM * blocksN) { return; }
  let bi = g / (blocksM * blocksN); let bm = (g / blocksN) % blocksM; let bn = g % blocksN;`;
  return PRELUDE + decl.join("\n") + main + "\n  " + body.join("\n  ") +
    "\n}";
}
