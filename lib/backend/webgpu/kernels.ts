/**
 * The single registration list: for each op of the closed set, how its attributes become dispatches (shader key,
 * WGSL builder, buffers, packed params, workgroup count). Shapes reach shaders through params, so one pipeline
 * serves every size; keys vary only with what the WGSL text depends on. The matrix product's plan, with its texture
 * geometry, lives in `matmul_plan.ts`.
 * Legend: R rows, C columns, N elements, V vocabulary.
 * @module
 */
import type { OpAttrs, OpName } from "../backend.ts";
import type { GpuBuffer } from "./buffers.ts";
import type { Step, TextureCopy } from "./runner.ts";
import { cdiv, gpu, launch, type Temp, type TexTemp, words } from "./launch.ts";
import { matmulPlan } from "./matmul_plan.ts";
import { affineWgsl, isUnaryFn, UNARY_WG, unaryWgsl } from "./wgsl/unary.wgsl.ts";
import { binaryWgsl, isBinaryFn, MAX_RANK } from "./wgsl/binary.wgsl.ts";
import { causalMaskWgsl, fillWgsl, scatterStridedWgsl, stridedWgsl } from "./wgsl/copy.wgsl.ts";
import { COLS, reduceColsWgsl, reduceRowsWgsl } from "./wgsl/reduce.wgsl.ts";
import { SHORT_ROW, softmaxBackwardWgsl, softmaxWgsl } from "./wgsl/softmax.wgsl.ts";
import {
  softmaxBackwardShortTexWgsl,
  softmaxBackwardShortWgsl,
  softmaxShortTexWgsl,
  softmaxShortWgsl,
} from "./wgsl/softmax_short.wgsl.ts";
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
import { dropoutWgsl } from "./wgsl/dropout.wgsl.ts";
import { adamwWgsl } from "./wgsl/adamw.wgsl.ts";
import { ELEMENTWISE_MAX_GROUPS } from "./wgsl/common.wgsl.ts";

export type { Temp, TexTemp };

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The f32 bit pattern of `x` as a u32. */
export function fbits(x: number): number {
  F32[0] = x;
  return U32[0];
}

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

type Plan<K extends OpName> = (
  outs: GpuBuffer[],
  ins: GpuBuffer[],
  a: OpAttrs[K],
  temp: Temp,
  tex: TexTemp,
) => Step[];
/** Most dispatches one op plans (layerNormBackward). */
export const MAX_LAUNCHES = 3;

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
 * Texture copies for a row-wise kernel over (R, C) inputs, or null where they cannot run: C not a multiple of 64
 * (rows of C·4 bytes must be a multiple of 256 to copy), empty, or past the texture extent. `rows` copies an
 * (R, C) buffer into R texture rows, `row` a (C) vector into one.
 */
function rowTextures(rows: number, cols: number, tex: TexTemp) {
  const w = cols / 4;
  if (rows === 0 || cols === 0 || cols % 64 !== 0 || Math.max(rows, w) > tex.maxDim) return null;
  const copy = (from: GpuBuffer, height: number): TextureCopy => {
    const to = tex.get(w, height);
    return { from: from.gpu!, to, bytesPerRow: cols * 4, width: w, height };
  };
  return { rows: (b: GpuBuffer) => copy(b, rows), row: (b: GpuBuffer) => copy(b, 1) };
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
  matmul: matmulPlan,
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
  softmax: ([y], [x], a, _temp, tex) => {
    const params = [a.rows, a.cols, a.causalTq ?? 0];
    const t = a.cols <= SHORT_ROW ? rowTextures(a.rows, a.cols, tex) : null;
    if (t) {
      const copy = t.rows(x);
      return [copy, { ...each("softmaxShort:tex", softmaxShortTexWgsl, [y], [], params), ins: [copy.to] }];
    }
    if (a.cols <= SHORT_ROW) return [each("softmaxShort", softmaxShortWgsl, [y], [x], params)];
    return [launch("softmax", softmaxWgsl, [y], [x], params, a.rows)];
  },
  softmaxBackward: ([dx], [y, dy], a, _temp, tex) => {
    const params = [a.rows, a.cols];
    const t = a.cols <= SHORT_ROW ? rowTextures(a.rows, a.cols, tex) : null;
    if (t) {
      const copies = [t.rows(y), t.rows(dy)];
      const l = each("softmaxBackwardShort:tex", softmaxBackwardShortTexWgsl, [dx], [], params);
      return [...copies, { ...l, ins: copies.map((c) => c.to) }];
    }
    if (a.cols <= SHORT_ROW) return [each("softmaxBackwardShort", softmaxBackwardShortWgsl, [dx], [y, dy], params)];
    return [launch("softmaxBackward", softmaxBackwardWgsl, [dx], [y, dy], params, a.rows)];
  },

  layerNorm: (outs, [x, g, b], a, _temp, tex) => {
    const vec = a.cols % 4 === 0;
    const params = [a.rows, a.cols, fbits(a.eps)];
    const t = rowTextures(a.rows, a.cols, tex);
    if (!t) {
      return [launch(`layerNorm:${+vec}`, () => layerNormWgsl(vec), outs, [x, g, b], params, cdiv(a.rows, LN_WG))];
    }
    const copies = [t.rows(x), t.row(g), t.row(b)];
    const l = launch("layerNorm:tex", () => layerNormWgsl(true, true), outs, [], params, cdiv(a.rows, LN_WG));
    return [...copies, { ...l, ins: copies.map((c) => c.to) }];
  },
  layerNormBackward: ([dx, dg, db], [dy, x, g, mean, rstd], a, temp, tex) => {
    const vec = a.cols % 4 === 0;
    const blocks = cdiv(a.rows, LN_ROW_BLOCK), units = vec ? a.cols / 4 : a.cols;
    const part = temp(2 * blocks * a.cols);
    const params = words([a.rows, a.cols, blocks]);
    const t = rowTextures(a.rows, a.cols, tex);
    const copies = t ? [t.rows(dy), t.rows(x), t.row(g)] : [];
    // dy, x and g: their textures where copied, else their buffers.
    const [rdy, rx, rg] = t ? copies.map((c) => c.to) : [dy, x, g].map(gpu);
    const key = (name: string) => `${name}:${t ? "tex" : +vec}`;
    return [
      ...copies,
      {
        key: key("layerNormDx"),
        source: () => layerNormDxWgsl(vec, !!t),
        outs: [gpu(dx)],
        ins: [rdy, rx, rg, gpu(mean), gpu(rstd)],
        params,
        groups: cdiv(a.rows, LN_WG),
      },
      {
        key: key("layerNormDgDbPart"),
        source: () => layerNormDgDbPartWgsl(vec, !!t),
        outs: [gpu(part)],
        ins: [rdy, rx, gpu(mean), gpu(rstd)],
        params,
        groups: cdiv(blocks * units, LN_WG),
      },
      {
        key: `layerNormDgDbSum:${+vec}`,
        source: () => layerNormDgDbSumWgsl(vec),
        outs: [gpu(dg), gpu(db)],
        ins: [gpu(part)],
        params,
        groups: cdiv(units, LN_WG),
      },
    ];
  },
  crossEntropy: (outs, ins, a) => [launch("crossEntropy", crossEntropyWgsl, outs, ins, [a.rows, a.cols], a.rows)],
  crossEntropyBackward: (outs, ins, a) => [
    each("crossEntropyBackward", crossEntropyBackwardWgsl, outs, ins, [a.rows * a.cols, a.cols]),
  ],
  dropout: ([y], [x], a) => {
    // dropoutUniform(seed, i) ≥ p ⟺ (hash >>> 8) ≥ ⌈p·2^24⌉ (p·2^24 is exact in float64); NaN p keeps nothing.
    const t = Number.isNaN(a.p) ? 2 ** 24 + 1 : Math.min(2 ** 24 + 1, Math.max(0, Math.ceil(a.p * 2 ** 24)));
    return [each("dropout", dropoutWgsl, [y], [x], [y.size, a.seed >>> 0, t, fbits(1 / (1 - a.p)), fbits(0)])];
  },
  adamw: ([p, m, v], ins, a) => {
    const stepSize = a.lr * Math.sqrt(1 - a.beta2 ** a.step) / (1 - a.beta1 ** a.step);
    const f = [a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.lr * a.weightDecay, stepSize, a.eps].map(fbits);
    return [each("adamw", adamwWgsl, [p, m, v], [ins[3]], [p.size, ...f])];
  },
};

/** Inputs that an op reads and writes in place: ins[k] is outs[k] for k below this count. */
export const IN_PLACE: Partial<Record<OpName, number>> = { scatterStrided: 1, adamw: 3 };
