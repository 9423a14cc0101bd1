/**
 * Every shader variant the registration list can produce, found by planning representative dispatches through
 * `KERNELS` itself (so the catalog cannot drift from it). Tests compile the whole catalog with each WGSL compiler
 * at hand (naga through Deno, Tint through Dawn), catching what only a rarely used variant would hit.
 * @module
 */
import type { BinaryFn, OpAttrs, OpName, UnaryFn } from "../backend.ts";
import { GpuBuffer } from "./buffers.ts";
import { KERNELS, type Temp, type TexTemp } from "./kernels.ts";
import type { Step } from "./runner.ts";
import { MAX_RANK } from "./wgsl/binary.wgsl.ts";

const UNARY: UnaryFn[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "abs",
  "sign",
  "erf",
  "gelu",
  "relu",
  "step",
];
const BINARY: BinaryFn[] = ["add", "sub", "mul", "div", "pow", "max", "eq", "gt", "geluBackward"];

/** Every distinct (key, WGSL source) pair, planned from representative attributes. */
export function shaderCatalog(): { key: string; source: string }[] {
  const buf = (size: number) => new GpuBuffer(size, "f32", {} as GPUBuffer, 16);
  const cases: { [K in OpName]?: OpAttrs[K][] } = {
    unary: UNARY.map((fn) => ({ fn })),
    affine: [{ scale: 1, bias: 0 }],
    fill: [{ value: 0 }],
    causalMask: [{ rows: 1, tq: 2, tk: 2, value: 0 }],
    reduce: (["sum", "max"] as const).flatMap((fn) => [1, 3].map((inner) => ({ fn, outer: 2, size: 3, inner }))),
    softmax: [{ rows: 1, cols: 2 }, { rows: 2, cols: 2, causalTq: 2 }, { rows: 1, cols: 300 }, { rows: 1, cols: 64 }],
    softmaxBackward: [{ rows: 1, cols: 2 }, { rows: 1, cols: 300 }, { rows: 1, cols: 64 }],
    layerNorm: [{ rows: 1, cols: 2, eps: 1e-5 }, { rows: 1, cols: 4, eps: 1e-5 }, { rows: 1, cols: 64, eps: 1e-5 }],
    layerNormBackward: [{ rows: 1, cols: 2 }, { rows: 1, cols: 4 }, { rows: 1, cols: 64 }],
    crossEntropy: [{ rows: 1, cols: 2 }],
    crossEntropyBackward: [{ rows: 1, cols: 2 }],
    gather: [{ rows: 1, cols: 2, vocab: 2 }],
    scatterAdd: [{ rows: 1, cols: 2, vocab: 2 }],
    dropout: [{ p: 0.5, seed: 1 }],
    adamw: [{ lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1 }],
  };
  // Ranks 1..MAX_RANK: shapes of 2s with strides that cannot merge.
  const ranks = [...Array(MAX_RANK).keys()].map((r) => Array.from({ length: r + 1 }, () => 2));
  const rev = (shape: number[]) => shape.map((_, d) => 2 ** d);
  cases.binary = BINARY.flatMap((fn) =>
    ranks.map((shape) => ({ fn, shape, aStrides: rev(shape), bStrides: rev(shape) }))
  );
  cases.strided = ranks.map((shape) => ({ shape, strides: rev(shape), offset: 0 }));
  cases.scatterStrided = cases.strided;
  // Matmul: both transposes, each operand aligned or not (sizes 4 or 3, n ± 1), every workgroup width (n ≤ 512).
  cases.matmul = [];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      // ... and 64s, whose operands are copied as stored (transposed ones read transposed).
      for (const [m, k] of [[3, 3], [3, 4], [4, 3], [4, 4], [64, 64]]) {
        for (const n of [4, 3, 128, 127, 256, 255, 512, 511]) {
          cases.matmul.push({ batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0 });
        }
      }
    }
  }
  const out = new Map<string, string>();
  for (const [op, list] of Object.entries(cases) as [OpName, unknown[]][]) {
    const plan = KERNELS[op] as (o: GpuBuffer[], i: GpuBuffer[], a: unknown, temp: Temp, tex: TexTemp) => Step[];
    for (const attrs of list) {
      // Matmul runs from textures within the extent limit, else on buffers: both variants of every case.
      for (const maxDim of op === "matmul" ? [Infinity, 0] : [Infinity]) {
        const tex = { maxDim, get: (width: number, height: number) => ({ width, height }) as GPUTexture };
        for (const l of plan([buf(4), buf(4), buf(4)], [buf(4), buf(4), buf(4), buf(4), buf(4)], attrs, buf, tex)) {
          if ("key" in l && !out.has(l.key)) out.set(l.key, l.source()); // copies have no shader
        }
      }
    }
  }
  return [...out].map(([key, source]) => ({ key, source }));
}
