/**
 * How a matrix product runs: from rgba32float textures (matmul_texture.wgsl.ts), each operand copied in as stored
 * where its rows allow a copy or packed by a compute pass, or from buffers (matmul.wgsl.ts) past the device's
 * texture extent.
 * Legend: B/M/N/K matmul dims, TM/TN rows/columns of c per invocation.
 * @module
 */
import type { OpAttrs } from "../backend.ts";
import type { GpuBuffer } from "./buffers.ts";
import type { Step } from "./runner.ts";
import { cdiv, gpu, launch, type Temp, type TexTemp, words } from "./launch.ts";
import { type MatmulVariant, matmulWgsl } from "./wgsl/matmul.wgsl.ts";
import { matmulTextureWgsl, PACK_WG, packTextureWgsl, TEX_TM, TEX_TN } from "./wgsl/matmul_texture.wgsl.ts";

/**
 * Pick the matmul shader variant: 8×16 blocks, vec4 reads wherever alignment allows, and a workgroup just wide
 * enough for N (a lane past N still computes, clamped), at most 32 lanes (64 measured ~10% slower on llvmpipe).
 */
export function matmulVariant(a: OpAttrs["matmul"]): MatmulVariant {
  const aStride = a.batch > 1 ? a.aBatchStride : 0, bStride = a.batch > 1 ? a.bBatchStride : 0;
  const tm = 8, tn = 16;
  return {
    transA: a.transA,
    transB: a.transB,
    vecA: (a.transA ? a.m : a.k) % 4 === 0 && aStride % 4 === 0,
    vecB: (a.transB ? a.k : a.n) % 4 === 0 && bStride % 4 === 0,
    tm,
    tn,
    wg: matmulLanes(a.n, tn),
  };
}

/** Workgroup width for N columns at `tn` per lane: just wide enough, 8 to 32 lanes (64 measured ~10% slower). */
const matmulLanes = (n: number, tn: number) => Math.min(32, Math.max(8, 2 ** Math.ceil(Math.log2(cdiv(n, tn)))));

/**
 * One operand as its texture holds it: `batches` blocks of `rows` × `cols` values (texels run along cols, zero past
 * the edge), read from the buffer at these strides, each block padded to `hpb` ≥ rows texture rows.
 */
export interface TexOperand {
  batches: number;
  rows: number;
  cols: number;
  batchStride: number;
  rowStride: number;
  colStride: number;
  /** Texels per texture row: ⌈cols/4⌉. */
  width: number;
  hpb: number;
}

/** Whether `o`'s buffer already holds its texture's layout, so a copy can fill it (rows of 256-byte multiples). */
const copyable = (o: TexOperand) =>
  o.colStride === 1 && o.rowStride === o.cols && o.cols % 64 === 0 && o.hpb === o.rows &&
  (o.batches === 1 || o.batchStride === o.rows * o.cols);

/**
 * Geometry of the texture matmul (see matmul_texture.wgsl.ts), or null where the buffer kernel runs instead: an
 * empty product, or a texture wider or taller than the device's maxTextureDimension2D (16384 on llvmpipe): e.g. the
 * LM head's weight gradient, whose M = 50257 vocabulary rows would need 50257 texture rows. A transposed operand,
 * stored (K, M) or (N, K), keeps its stored layout (the kernel reads it transposed) where a copy can fill it;
 * otherwise the packing pass transposes it into the layout of an untransposed one.
 */
export function matmulTextures(a: OpAttrs["matmul"], maxDim: number) {
  if (a.batch === 0 || a.m === 0 || a.n === 0 || a.k === 0) return null;
  const kt = cdiv(a.k, 4);
  const aBatches = a.batch > 1 && a.aBatchStride !== 0 ? a.batch : 1;
  const bBatches = a.batch > 1 && a.bBatchStride !== 0 ? a.batch : 1;
  const fits = (o: TexOperand) => Math.max(o.width, o.batches * o.hpb) <= maxDim;
  const [as, bs] = [a.aBatchStride, a.bBatchStride];
  const aByM: TexOperand = {
    batches: aBatches,
    rows: a.k,
    cols: a.m,
    batchStride: as,
    rowStride: a.m,
    colStride: 1,
    width: cdiv(a.m, 4),
    hpb: 4 * kt,
  };
  const bByK: TexOperand = {
    batches: bBatches,
    rows: a.n,
    cols: a.k,
    batchStride: bs,
    rowStride: a.k,
    colStride: 1,
    width: kt,
    hpb: a.n,
  };
  const layout = {
    aByM: a.transA && copyable(aByM) && fits(aByM),
    bByK: a.transB && copyable(bByK) && fits(bByK),
  };
  const ta: TexOperand = layout.aByM ? aByM : {
    batches: aBatches,
    rows: a.m,
    cols: a.k,
    batchStride: as,
    rowStride: a.transA ? 1 : a.k,
    colStride: a.transA ? a.m : 1,
    width: kt,
    hpb: a.m,
  };
  const tb: TexOperand = layout.bByK ? bByK : {
    batches: bBatches,
    rows: a.k,
    cols: a.n,
    batchStride: bs,
    rowStride: a.transB ? 1 : a.n,
    colStride: a.transB ? a.k : 1,
    width: cdiv(a.n, 4),
    hpb: 4 * kt,
  };
  return fits(ta) && fits(tb) ? { kt, a: ta, b: tb, layout } : null;
}

/** Fill texture `t` with operand `o` from `x`: by a plain copy where `o` is copyable, else by the packing pass. */
function fillTexture(t: GPUTexture, x: GpuBuffer, o: TexOperand): Step {
  if (copyable(o)) return { from: gpu(x), to: t, bytesPerRow: o.cols * 4, width: t.width, height: t.height };
  const texels = t.width * t.height;
  const params = [texels, o.rows, o.cols, o.batchStride, o.rowStride, o.colStride, o.width, o.hpb];
  return {
    key: "packTexture",
    source: packTextureWgsl,
    outs: [t],
    ins: [gpu(x)],
    params: words(params),
    groups: cdiv(texels, PACK_WG),
  };
}

/** The matmul op's plan: c (B, M, N) ← a, b. */
export function matmulPlan(
  [c]: GpuBuffer[],
  [x, w]: GpuBuffer[],
  a: OpAttrs["matmul"],
  _temp: Temp,
  tex: TexTemp,
): Step[] {
  const g = matmulTextures(a, tex.maxDim);
  if (g) {
    // a (M, K), or (K, M) stored when transA; b (K, N), or (N, K) stored when transB.
    const ta = tex.get(g.a.width, g.a.batches * g.a.hpb), tb = tex.get(g.b.width, g.b.batches * g.b.hpb);
    const wg = matmulLanes(a.n, TEX_TN);
    const blocksM = cdiv(a.m, TEX_TM), blocksN = cdiv(a.n, TEX_TN * wg);
    const rowsPerBatch = (o: TexOperand) => (o.batches > 1 ? o.hpb : 0);
    const params = [a.batch, a.m, a.n, g.kt, rowsPerBatch(g.a), rowsPerBatch(g.b), blocksM, blocksN];
    return [
      fillTexture(ta, x, g.a),
      fillTexture(tb, w, g.b),
      {
        key: `matmulTex:${wg}:${+g.layout.aByM}${+g.layout.bByK}`,
        source: () => matmulTextureWgsl(wg, g.layout),
        outs: [gpu(c)],
        ins: [ta, tb],
        params: words([...params, cdiv(a.n, 4), cdiv(a.m, 4)]),
        groups: a.batch * blocksM * blocksN,
      },
    ];
  }
  const v = matmulVariant(a);
  const blocksM = cdiv(a.m, v.tm), blocksN = cdiv(a.n, v.tn * v.wg);
  const key = `matmul:${+v.transA}${+v.transB}${+v.vecA}${+v.vecB}:${v.tm}x${v.tn}:${v.wg}`;
  const params = [a.batch, a.m, a.n, a.k, a.aBatchStride, a.bBatchStride, blocksM, blocksN];
  return [launch(key, () => matmulWgsl(v), [c], [x, w], params, a.batch * blocksM * blocksN)];
}
