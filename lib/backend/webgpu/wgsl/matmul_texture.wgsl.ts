/**
 * The matrix product read from textures: each operand is first packed into an rgba32float texture (one texel = 4
 * consecutive values along a's K or b's N, zero past the edge; batches stacked as row blocks, one block when the
 * batch stride is 0), then an 8×16-block kernel reads them with `textureLoad`. Where an operand's stored rows are
 * a multiple of 64 values, a buffer-to-texture copy replaces the packing pass: untransposed, the buffer already has
 * that layout; transposed (a stored (K, M), b (N, K)), the texture keeps the stored layout and the kernel reads it
 * transposed (`TexLayout`). At 256³ on llvmpipe the two packs cost ~2 ms against ~3–4.5 ms for the kernel, the two
 * copies ~0.04 ms: the packs, not the readback (the bench reads once per 16–64 products), held 256³ near 3×.
 * Why: llvmpipe (Mesa 22.3) runs every storage-buffer load as a loop over its SIMD lanes, while texture loads
 * become vector gathers. Measured kernel-alone on llvmpipe (2 cores), packing included, buffer kernel → this:
 * 512³ 8.4–11 → 12–13, 1024³ 12.5–15.5 → 25, (4096×256)·(256×1024) 14 → 25 GFLOP/s; 256³ is bound by the
 * ~12 ms wait for the GPU on both. r32float textures (one value per load) lost to the buffer kernel (6.3 GFLOP/s).
 * `deno task bench --quick --only=matmul`, webgpu / tfjs-webgpu before → after: 256³ 2.44 → 2.0–3.1×, 512³ 2.19 →
 * 2.7–2.9×, 1024³ 2.20 → 4.5×, (4096×256)·(256×1024) 2.19 → 4.0–4.5× (webgpu 9.5 → 18–20 GFLOP/s at the large
 * sizes; the small ones stay bound by the readback, which the bench pays every rep).
 * Packing transposes into the untransposed layouts; K is padded to a multiple of 4 with zero texels in
 * a and zero rows in b (so padding adds 0·0, never 0·∞). Loads clamp rows and texel columns into range; stores
 * are masked. Legend: B batch, M/N/K matmul dims, KT/NT/MT = ⌈K/4⌉/⌈N/4⌉/⌈M/4⌉ texels, WG invocations.
 * @module
 */
import { PRELUDE } from "./common.wgsl.ts";

/** Rows and columns of c per invocation of the texture kernel. */
export const TEX_TM = 8, TEX_TN = 16;
/** Invocations per workgroup of the packing pass. */
export const PACK_WG = 64;

/**
 * Pack a strided matrix (batches × rows × cols) into an rgba32float storage texture of ⌈cols/4⌉ × batches·hpb
 * texels (hpb ≥ rows rows per batch, the extra rows zero). Params: [texels, rows, cols, batchStride, rowStride,
 * colStride, widthTexels, hpb].
 */
export function packTextureWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var T: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@compute @workgroup_size(${PACK_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let t = (wid.x + wid.y * nwg.x) * ${PACK_WG}u + li;
  if (t >= p(0u)) { return; }
  let rows = p(1u); let cols = p(2u); let w = p(6u); let hpb = p(7u);
  let x = t % w; let y = t / w; let b = y / hpb; let r = y % hpb;
  let base = b * p(3u) + min(r, rows - 1u) * p(4u);
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e += 1u) {
    let c = x * 4u + e;
    let val = X[base + min(c, cols - 1u) * p(5u)];
    v[e] = select(0.0, val, r < rows && c < cols);
  }
  textureStore(T, vec2<u32>(x, y), v);
}`;
}

const range = (n: number) => [...Array(n).keys()];

/** How an operand's texture is laid out: which axis its texels run along. */
export interface TexLayout {
  /** a's texels hold 4 consecutive rows (M) at one k, from a (K, M) stored buffer; else 4 consecutive k. */
  aByM: boolean;
  /** b's texels hold 4 consecutive k at one column n, from a (N, K) stored buffer; else 4 consecutive n. */
  bByK: boolean;
}

/**
 * The texture matmul with `wg` invocations per workgroup, each computing TEX_TM × TEX_TN outputs. Params: [B, M,
 * N, KT, aRowsPerBatch, bRowsPerBatch (0 for a shared operand), ⌈M/TM⌉, ⌈N/(WG·TN)⌉, NT, MT]. Per batch, a's
 * texture has M rows of KT texels (or 4·KT rows of MT texels when `aByM`), b's 4·KT rows of NT texels (or N rows
 * of KT texels when `bByK`); either way each k step loads TM + TN texels for TM·TN·4 multiply-adds.
 */
export function matmulTextureWgsl(wg: number, layout: TexLayout): string {
  const tm = TEX_TM, tn = TEX_TN, th = tn / 4;
  const aLoads = layout.aByM
    ? [
      ...range(4).flatMap((q) =>
        range(tm / 4).map((h) => `  let at_${q}_${h} = textureLoad(TA, vec2<u32>(mi_${h}, aRow + kt * 4u + ${q}u), 0);`)
      ),
      ...range(tm).map((r) => `  let a_${r} = vec4<f32>(${range(4).map((q) => `at_${q}_${r >> 2}[${r & 3}]`)});`),
    ]
    : range(tm).map((r) => `  let a_${r} = textureLoad(TA, vec2<u32>(kt, ri_${r}), 0);`);
  const bLoads = layout.bByK
    ? [
      ...range(tn).map((c) => `  let bt_${c} = textureLoad(TB, vec2<u32>(kt, bRow + ci_${c}), 0);`),
      ...range(4).flatMap((q) =>
        range(th).map((h) => `  let b_${q}_${h} = vec4<f32>(${range(4).map((e) => `bt_${4 * h + e}[${q}]`)});`)
      ),
    ]
    : range(4).flatMap((q) =>
      range(th).map((h) => `  let b_${q}_${h} = textureLoad(TB, vec2<u32>(xi_${h}, bRow + kt * 4u + ${q}u), 0);`)
    );
  const body = [
    "let g = wid.x + wid.y * nwg.x;",
    "let M = p(1u); let N = p(2u); let KT = p(3u); let blocksM = p(6u); let blocksN = p(7u);",
    "if (g >= p(0u) * blocksM * blocksN) { return; }",
    `let bi = g / (blocksM * blocksN); let i0 = (g / blocksN) % blocksM * ${tm}u; let j0 = g % blocksN * ${wg * tn}u;`,
    "let aRow = bi * p(4u); let bRow = bi * p(5u);",
    ...(layout.aByM
      ? range(tm / 4).map((h) => `let mi_${h} = min(i0 / 4u + ${h}u, p(9u) - 1u);`)
      : range(tm).map((r) => `let ri_${r} = aRow + min(i0 + ${r}u, M - 1u);`)),
    ...(layout.bByK
      ? range(tn).map((c) => `let ci_${c} = min(j0 + li * ${tn}u + ${c}u, N - 1u);`)
      : range(th).map((h) => `let xi_${h} = min((j0 + li * ${tn}u) / 4u + ${h}u, p(8u) - 1u);`)),
    ...range(tm).flatMap((r) => range(th).map((h) => `var acc_${r}_${h} = vec4<f32>(0.0);`)),
    "for (var kt = 0u; kt < KT; kt += 1u) {",
    ...aLoads,
    ...bLoads,
    ...range(4).flatMap((q) =>
      range(tm).flatMap((r) => range(th).map((h) => `  acc_${r}_${h} += a_${r}[${q}] * b_${q}_${h};`))
    ),
    "}",
    "let cOff = bi * M * N;",
    ...range(tm).flatMap((r) =>
      range(tn).map((c) => {
        const j = `j0 + li * ${tn}u + ${c}u`;
        return `if (i0 + ${r}u < M && ${j} < N) { C[cOff + (i0 + ${r}u) * N + ${j}] = acc_${r}_${c >> 2}[${c & 3}]; }`;
      })
    ),
  ];
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var TA: texture_2d<f32>;
@group(0) @binding(3) var TB: texture_2d<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  ${body.join("\n  ")}
}`;
}
