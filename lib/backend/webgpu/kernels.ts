/**
 * The single registration list: for each op of the closed set, how its attributes become dispatches (shader key,
 * WGSL builder, buffers, packed params, workgroup count). Shapes reach shaders through params, so one pipeline
 * serves every size; keys vary only with what the WGSL text depends on.
 * Legend: R rows, C columns, N elements, V vocabulary, B/M/N/K matmul dims.
 * @module
 */
import type { OpAttrs, OpName } from "../backend.ts";
import type { GpuBuffer } from "./buffers.ts";
import type { Step } from "./runner.ts";
import { affineWgsl, isUnaryFn, UNARY_WG, unaryWgsl } from "./wgsl/unary.wgsl.ts";
import { binaryWgsl, isBinaryFn, MAX_RANK } from "./wgsl/binary.wgsl.ts";
import { causalMaskWgsl, fillWgsl, scatterStridedWgsl, stridedWgsl } from "./wgsl/copy.wgsl.ts";
import { COLS, reduceColsWgsl, reduceRowsWgsl } from "./wgsl/reduce.wgsl.ts";
import { type MatmulVariant, matmulWgsl } from "./wgsl/matmul.wgsl.ts";
import { matmulTextureWgsl, PACK_WG, packTextureWgsl, TEX_TM, TEX_TN } from "./wgsl/matmul_texture.wgsl.ts";
import {
  SHORT_ROW,
  softmaxBackwardShortWgsl,
  softmaxBackwardWgsl,
  softmaxShortWgsl,
  softmaxWgsl,
} from "./wgsl/softmax.wgsl.ts";
import {
  layerNormDgDbPartWgsl,
  layerNormDgDbSumWgsl,
  layerNormDxWgsl,
  layerNormWgsl,
  LN_ROW_BLOCK,
  LN_WG,
} from "./wgsl/layernorm.wgsl.ts";
import { crossEntropyBackwardWgsl, crossEntropyWgsl } from "./wgsl/crossentropy.wgsl.ts";
import { gatherWgsl, SCATTER_COLS, scatterAddWgsl } from "./wgsl/index.wgsl.ts";
import { dropoutMaskWgsl } from "./wgsl/dropout.wgsl.ts";
import { adamwWgsl } from "./wgsl/adamw.wgsl.ts";
import { ELEMENTWISE_MAX_GROUPS } from "./wgsl/common.wgsl.ts";

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The f32 bit pattern of `x` as a u32. */
export function fbits(x: number): number {
  F32[0] = x;
  return U32[0];
}

const words = (xs: number[]) => Uint32Array.from(xs, (x) => x >>> 0);
const gpu = (b: GpuBuffer) => b.gpu!;
const cdiv = (a: number, b: number) => Math.ceil(a / b);
const ELEM_WG = UNARY_WG;

/** Merge dims that are contiguous in every stride set and drop size-1 dims; a scalar becomes rank 1. */
export function coalesce(shape: number[], sets: number[][]): { shape: number[]; sets: number[][] } {
  for (const s of sets) {
    if (s.length !== shape.length) {
      throw new Error(`Stride list [${s}] has ${s.length} entries but shape [${shape}] has rank ${shape.length}`);
    }
  }
  const outShape: number[] = [];
  const outSets: number[][] = sets.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && sets.every((s, k) => s[d] === outSets[k][last] * outShape[last])) {
      outShape[last] *= shape[d];
    } else {
      outShape.push(shape[d]);
      sets.forEach((s, k) => outSets[k].push(s[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], sets: sets.map(() => [0]) };
  if (outShape.length > MAX_RANK) {
    throw new Error(`Cannot index a tensor of rank ${outShape.length} after merging dims: at most ${MAX_RANK}`);
  }
  return { shape: outShape.reverse(), sets: outSets.map((s) => s.reverse()) };
}

/** A scratch f32 buffer of `size` elements, valid for the dispatches of the op that asked. */
export type Temp = (size: number) => GpuBuffer;
/** Scratch rgba32float textures of `width` × `height` texels for one op's dispatches, and the device's extent limit. */
export interface TexTemp {
  maxDim: number;
  get(width: number, height: number): GPUTexture;
}
type Plan<K extends OpName> = (
  outs: GpuBuffer[],
  ins: GpuBuffer[],
  a: OpAttrs[K],
  temp: Temp,
  tex: TexTemp,
) => Step[];
/** Most dispatches one op plans (layerNormBackward). */
export const MAX_LAUNCHES = 3;

function launch(
  key: string,
  source: () => string,
  outs: GpuBuffer[],
  ins: GpuBuffer[],
  params: number[],
  groups: number,
) {
  return { key, source, outs: outs.map(gpu), ins: ins.map(gpu), params: words(params), groups };
}

/** Elementwise launch over `n` elements. */
function each(key: string, source: () => string, outs: GpuBuffer[], ins: GpuBuffer[], params: number[]) {
  return launch(key, source, outs, ins, params, Math.min(ELEMENTWISE_MAX_GROUPS, cdiv(params[0], ELEM_WG)));
}

function stridedPlan<K extends "strided" | "scatterStrided">(kind: K): Plan<K> {
  return ([y], ins, a) => {
    const n = a.shape.reduce((p, s) => p * s, 1);
    const c = coalesce(a.shape, [a.strides]);
    const rank = c.shape.length;
    const src = kind === "strided" ? stridedWgsl : scatterStridedWgsl;
    const params = [n, a.offset, ...c.shape, ...c.sets[0]];
    return [each(`${kind}:${rank}`, () => src(rank), [y], kind === "strided" ? ins : [ins[1]], params)];
  };
}

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

/** How each op of the closed set runs: the registration list. */
export const KERNELS: { [K in OpName]: Plan<K> } = {
  unary: ([y], [x], a) => {
    if (!isUnaryFn(a.fn)) throw new Error(`Unknown unary function "${a.fn}"`);
    return [each(`unary:${a.fn}`, () => unaryWgsl(a.fn), [y], [x], [y.size])];
  },
  binary: ([y], [x, w], a) => {
    if (!isBinaryFn(a.fn)) throw new Error(`Unknown binary function "${a.fn}"`);
    const c = coalesce(a.shape, [a.aStrides, a.bStrides]);
    const rank = c.shape.length, n = a.shape.reduce((p, s) => p * s, 1);
    return [
      each(`binary:${a.fn}:${rank}`, () => binaryWgsl(a.fn, rank), [y], [x, w], [n, ...c.shape, ...c.sets.flat()]),
    ];
  },
  affine: ([y], [x], a) => [each("affine", affineWgsl, [y], [x], [y.size, fbits(a.scale), fbits(a.bias)])],
  reduce: ([y], [x], a) => {
    if (a.inner === 1) {
      return [launch(`reduceRows:${a.fn}`, () => reduceRowsWgsl(a.fn), [y], [x], [a.outer, a.size], a.outer)];
    }
    const blocks = cdiv(a.inner, COLS);
    const params = [a.outer, a.size, a.inner, blocks];
    return [launch(`reduceCols:${a.fn}`, () => reduceColsWgsl(a.fn), [y], [x], params, a.outer * blocks)];
  },
  matmul: ([c], [x, w], a, _temp, tex) => {
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
  },
  strided: stridedPlan("strided"),
  scatterStrided: stridedPlan("scatterStrided"),
  fill: ([y], _, a) => [each("fill", fillWgsl, [y], [], [y.size, y.dtype === "i32" ? a.value | 0 : fbits(a.value)])],
  gather: ([y], [t, ids], a) => [each("gather", gatherWgsl, [y], [t, ids], [a.rows * a.cols, a.cols, a.vocab])],
  scatterAdd: ([dt], [dy, ids], a) => {
    const blocks = cdiv(a.cols, SCATTER_COLS);
    const params = [a.rows, a.cols, a.vocab, blocks];
    return [launch("scatterAdd", scatterAddWgsl, [dt], [dy, ids], params, a.vocab * blocks)];
  },
  causalMask: ([y], [x], a) => {
    const params = [a.rows * a.tq * a.tk, a.tq, a.tk, fbits(a.value)];
    return [each("causalMask", causalMaskWgsl, [y], [x], params)];
  },
  softmax: ([y], [x], a) => {
    const params = [a.rows, a.cols, a.causalTq ?? 0];
    if (a.cols <= SHORT_ROW) return [each("softmaxShort", softmaxShortWgsl, [y], [x], params)];
    return [launch("softmax", softmaxWgsl, [y], [x], params, a.rows)];
  },
  softmaxBackward: ([dx], [y, dy], a) => {
    const params = [a.rows, a.cols];
    if (a.cols <= SHORT_ROW) return [each("softmaxBackwardShort", softmaxBackwardShortWgsl, [dx], [y, dy], params)];
    return [launch("softmaxBackward", softmaxBackwardWgsl, [dx], [y, dy], params, a.rows)];
  },

  layerNorm: (outs, ins, a) => {
    const vec = a.cols % 4 === 0;
    const params = [a.rows, a.cols, fbits(a.eps)];
    return [launch(`layerNorm:${+vec}`, () => layerNormWgsl(vec), outs, ins, params, cdiv(a.rows, LN_WG))];
  },
  layerNormBackward: ([dx, dg, db], [dy, x, g, mean, rstd], a, temp) => {
    const vec = a.cols % 4 === 0;
    const blocks = cdiv(a.rows, LN_ROW_BLOCK), units = vec ? a.cols / 4 : a.cols;
    const part = temp(2 * blocks * a.cols);
    const params = [a.rows, a.cols, blocks];
    return [
      launch(
        `layerNormDx:${+vec}`,
        () => layerNormDxWgsl(vec),
        [dx],
        [dy, x, g, mean, rstd],
        params,
        cdiv(a.rows, LN_WG),
      ),
      launch(
        `layerNormDgDbPart:${+vec}`,
        () => layerNormDgDbPartWgsl(vec),
        [part],
        [dy, x, mean, rstd],
        params,
        cdiv(blocks * units, LN_WG),
      ),
      launch(`layerNormDgDbSum:${+vec}`, () => layerNormDgDbSumWgsl(vec), [dg, db], [part], params, cdiv(units, LN_WG)),
    ];
  },
  crossEntropy: (outs, ins, a) => [launch("crossEntropy", crossEntropyWgsl, outs, ins, [a.rows, a.cols], a.rows)],
  crossEntropyBackward: (outs, ins, a) => [
    each("crossEntropyBackward", crossEntropyBackwardWgsl, outs, ins, [a.rows * a.cols, a.cols]),
  ],
  dropoutMask: ([mask], _, a) => {
    // dropoutUniform(seed, i) ≥ p ⟺ (hash >>> 8) ≥ ⌈p·2^24⌉ (p·2^24 is exact in float64); NaN p keeps nothing.
    const t = Number.isNaN(a.p) ? 2 ** 24 + 1 : Math.min(2 ** 24 + 1, Math.max(0, Math.ceil(a.p * 2 ** 24)));
    return [each("dropoutMask", dropoutMaskWgsl, [mask], [], [mask.size, a.seed >>> 0, t, fbits(1 / (1 - a.p))])];
  },
  adamw: ([p, m, v], ins, a) => {
    const stepSize = a.lr * Math.sqrt(1 - a.beta2 ** a.step) / (1 - a.beta1 ** a.step);
    const f = [a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.lr * a.weightDecay, stepSize, a.eps].map(fbits);
    return [each("adamw", adamwWgsl, [p, m, v], [ins[3]], [p.size, ...f])];
  },
};

/** Inputs that an op reads and writes in place: ins[k] is outs[k] for k below this count. */
export const IN_PLACE: Partial<Record<OpName, number>> = { scatterStrided: 1, adamw: 3 };
