/**
 * The device interface that `core` reaches every backend through. A backend never sees a `Tensor`: it sees
 * opaque buffers, shapes and op attributes. Every op writes contiguous row-major outputs.
 *
 * The op set is closed and small; each entry names its inputs, outputs and attributes. Both backends implement
 * all of it, and `tests/backend/` runs the same cases on each against the CPU oracle.
 *
 * Legend: R rows, C columns, N elements, B batch, M/N/K matmul dims.
 * @module
 */

/** Element type of a buffer: f32 for values, i32 for token ids and targets. */
export type DType = "f32" | "i32";

/** An opaque device allocation of `size` elements of `dtype`. */
export interface DeviceBuffer {
  /** Number of elements. */
  readonly size: number;
  /** Element type. */
  readonly dtype: DType;
}

/** Elementwise unary functions. `step` is 1 where x > 0, else 0. */
export type UnaryFn =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "tanh"
  | "abs"
  | "sign"
  | "erf"
  | "gelu"
  | "relu"
  | "step";

/**
 * Elementwise binary functions with broadcasting. `eq`/`gt` give 1 or 0. `geluBackward`(x, dy) = dy · d gelu/dx (x),
 * GELU's backward in one pass.
 */
export type BinaryFn = "add" | "sub" | "mul" | "div" | "pow" | "max" | "eq" | "gt" | "geluBackward";

/** Every op a backend runs, with its attributes. Inputs and outputs are listed in the comment as outs ← ins. */
export type OpAttrs = {
  /** [y] ← [x]; N = y.size. */
  unary: { fn: UnaryFn };
  /**
   * [y] ← [a, b]; y has `shape` (contiguous); element index i of y unravels to idx[] and reads
   * a[Σ idx[d]·aStrides[d]], b[Σ idx[d]·bStrides[d]] (stride 0 on broadcast axes).
   */
  binary: { fn: BinaryFn; shape: number[]; aStrides: number[]; bStrides: number[] };
  /** [y] ← [x]; y[i] = x[i]·scale + bias (scalar affine; scalars without a buffer). */
  affine: { scale: number; bias: number };
  /** [y] ← [x]; x viewed as (outer, size, inner), y is (outer, inner): sum or max over the middle axis. */
  reduce: { fn: "sum" | "max"; outer: number; size: number; inner: number };
  /**
   * [c] ← [a, b]; c (batch, m, n) = op(a) (m, k) · op(b) (k, n) per batch; a is stored (k, m) when transA,
   * b is stored (n, k) when transB. aBatchStride/bBatchStride are element strides between batches (0 = shared).
   */
  matmul: {
    batch: number;
    m: number;
    n: number;
    k: number;
    transA: boolean;
    transB: boolean;
    aBatchStride: number;
    bBatchStride: number;
  };
  /** [y] ← [x]; y (shape, contiguous) reads x[offset + Σ idx[d]·strides[d]]: permute, slice, expand. */
  strided: { shape: number[]; strides: number[]; offset: number };
  /**
   * [dst] ← [dst, src] in place; src (shape, contiguous) is written to dst[offset + Σ idx[d]·strides[d]]
   * (overwrites; used for concat and the backward of slice). dst is both output 0 and input 0.
   */
  scatterStrided: { shape: number[]; strides: number[]; offset: number };
  /** [y] ← []; fills y with `value`. */
  fill: { value: number };
  /** [y] ← [table (V, C), ids i32 (R)]; y (R, C) = table[ids[r]]; an id outside [0, V) gives a NaN row. */
  gather: { rows: number; cols: number; vocab: number };
  /** [dTable] ← [dy (R, C), ids i32 (R)]; dTable (V, C) = Σ_r onehot(ids[r]) dy[r] (zero where unused). */
  scatterAdd: { rows: number; cols: number; vocab: number };
  /** [y] ← [x (R, Tq, Tk)]; y = x with y[r, i, j] = value where j > i + (Tk − Tq) (causal). */
  causalMask: { rows: number; tq: number; tk: number; value: number };
  /**
   * [y] ← [x (R, C)]; numerically stable softmax over the last axis. With `causalTq` (attention scores viewed as
   * (R / Tq, Tq, C)), row r is query i = r mod Tq and columns j > i + (C − Tq) count as −∞ (their y is 0): the
   * causal mask fused into the softmax. A row with no column left gives NaN, as an all-−∞ row does.
   */
  softmax: { rows: number; cols: number; causalTq?: number };
  /** [dx] ← [y (R, C), dy (R, C)]; dx = y ⊙ (dy − Σ_c dy⊙y). */
  softmaxBackward: { rows: number; cols: number };
  /** [y (R, C), mean (R), rstd (R)] ← [x (R, C), g (C), b (C)]; biased variance. */
  layerNorm: { rows: number; cols: number; eps: number };
  /** [dx (R, C), dg (C), db (C)] ← [dy (R, C), x (R, C), g (C), mean (R), rstd (R)]. */
  layerNormBackward: { rows: number; cols: number };
  /**
   * [loss (R), lse (R)] ← [logits (R, C), targets i32 (R)]; loss[r] = lse[r] − logits[r, t[r]];
   * a target outside [0, C) gives NaN.
   */
  crossEntropy: { rows: number; cols: number };
  /** [dLogits (R, C)] ← [logits (R, C), targets i32 (R), lse (R), dLoss (R)]; (softmax − onehot) · dLoss[r]. */
  crossEntropyBackward: { rows: number; cols: number };
  /**
   * [y] ← [x]; y[i] = x[i] · (keep ? 1/(1−p) : 0) with keep = dropoutUniform(seed, i) ≥ p, so every backend
   * draws the same mask (see `dropoutUniform`) without storing it: the backward is this op on dy, same seed.
   */
  dropout: { p: number; seed: number };
  /**
   * [param, m, v] ← [param, m, v, grad] in place, fairseq's Adam with decoupled weight decay:
   * p −= lr·wd·p; m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
   * p −= lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε).
   */
  adamw: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number };
};

/** Name of an op in the closed set. */
export type OpName = keyof OpAttrs;

/** What every backend provides. Calls are ordered; `read` sees the effect of every earlier dispatch. */
export interface Backend {
  /** "cpu" or "webgpu". */
  readonly name: string;
  /** Allocate `size` elements (contents undefined until written or filled). */
  alloc(size: number, dtype: DType): DeviceBuffer;
  /** Return a buffer to the backend; it must not be used afterwards. */
  free(buffer: DeviceBuffer): void;
  /** Copy host data into a buffer of the same size and dtype. */
  write(buffer: DeviceBuffer, data: Float32Array | Int32Array): void;
  /** Copy a buffer back to the host after all queued work. */
  read(buffer: DeviceBuffer): Promise<Float32Array | Int32Array>;
  /** Queue one op. */
  dispatch<K extends OpName>(op: K, outs: DeviceBuffer[], ins: DeviceBuffer[], attrs: OpAttrs[K]): void;
  /** Bytes currently allocated and held in pools, for leak checks and benchmarks. */
  memory(): { liveBytes: number; pooledBytes: number; liveBuffers: number };
  /** Release every resource; the backend is unusable afterwards. */
  destroy(): void;
}

/** lowbias32 integer hash (Chris Wellons), the same in TypeScript and WGSL. */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform in [0, 1) for element `i` of a dropout draw with `seed` (a u32): hash32(seed ^ hash32(i)) >>> 8 / 2^24. */
export function dropoutUniform(seed: number, i: number): number {
  return (hash32((seed ^ hash32(i)) >>> 0) >>> 8) / 16777216;
}
