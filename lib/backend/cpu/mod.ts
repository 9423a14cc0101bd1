/**
 * The CPU backend. Its float32 tensors live in a shared WebAssembly memory (simd/heap.ts) and the hot kernels
 * (LayerNorm, softmax, cross-entropy, GELU, element-wise arithmetic, sums, AdamW) run there as WebAssembly SIMD
 * (simd/kernels.c); the rest, and everything in the float64 oracle, are plain TypeScript. Its matrix product calls
 * OpenBLAS (or Accelerate) through `Deno.dlopen` when present, else a blocked TypeScript kernel. With
 * `{ float64: true }` every f32 buffer is stored in float64: the oracle that finite-difference gradient checks
 * run on.
 * @module
 */
import type { Backend, DeviceBuffer, DType, OpAttrs, OpName } from "../backend.ts";
import { affine, type Arr, binary, scatterStrided, strided, unary } from "./elementwise.ts";
import {
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  reduce,
  softmax,
  softmaxBackward,
} from "./reduce.ts";
import { adamw, causalMask, dropout, gather, scatterAdd } from "./misc.ts";
import { matmul } from "./matmul.ts";
import { sgemmTs } from "./gemm.ts";
import { type Blas, loadBlas, readEnv } from "./blas.ts";
import { runSplit, sharedArray } from "./threads.ts";
import { runMatmul } from "./matmul_parts.ts";
import { allocate, heapStats, owns, release } from "./simd/heap.ts";
import { runSimd, simdApplies } from "./simd/ops.ts";

/** A CPU allocation: the host array itself. */
export class CpuBuffer implements DeviceBuffer {
  /** Storage (Float64Array in the float64 oracle). */
  data: Arr;
  /** Element type. */
  readonly dtype: DType;
  constructor(data: Arr, dtype: DType) {
    this.data = data;
    this.dtype = dtype;
  }
  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }
}

/** Options of the CPU backend. */
export interface CpuOptions {
  /** Store f32 tensors in float64 (the gradient-check oracle). Default false. */
  float64?: boolean;
  /** Use a system BLAS when one loads (default true; env NK_BLAS=0 also disables it). */
  blas?: boolean;
  /**
   * Keep float32 tensors in the WebAssembly heap and run the SIMD kernels (default true; env NK_SIMD=0 also
   * disables it). Without it every kernel is TypeScript (the previous implementation, kept as a reference).
   */
  simd?: boolean;
  /**
   * Threads for the elementwise, row and optimizer kernels (this one plus worker threads; see threads.ts).
   * Default: env NK_CPU_THREADS, else the cores reported by the runtime, at most 4, in float32; 1 in the
   * float64 oracle.
   */
  threads?: number;
}

/** The CPU backend, with a description of the matrix product in use. */
export interface CpuBackend extends Backend {
  /** "openblas (libopenblas.so.0)" or "typescript (…why BLAS is not used)". */
  readonly matmulKernel: string;
  /** Threads of the elementwise, row and optimizer kernels (this one plus workers). */
  readonly threads: number;
  /** Whether float32 tensors live in the WebAssembly heap and the SIMD kernels run. */
  readonly simd: boolean;
  /** Read a buffer at full storage precision (float64 in the oracle). */
  readExact(buffer: DeviceBuffer): Float64Array | Float32Array | Int32Array;
}

type Kernel = (a: any, o: Arr[], i: Arr[]) => void;

const ARRAYS = {
  f32: (n: number) => new Float32Array(n),
  f64: (n: number) => new Float64Array(n),
  i32: (n: number) => new Int32Array(n),
};

/** Freed buffers point here, so a use after free reads nothing instead of stale data. */
const FREED = new Float32Array(0);
/** Most bytes kept for reuse (per backend). */
const POOL_LIMIT = 2 ** 31;

/** Heap blocks of buffers dropped without `free` go back to the heap once the buffer is collected. */
const unreleased = new FinalizationRegistry<Arr>((data) => release(data));

/**
 * Create a CPU backend.
 * @example
 * ```ts
 * import { createCpuBackend } from "./mod.ts";
 * const cpu = createCpuBackend();
 * const x = cpu.alloc(3, "f32");
 * cpu.write(x, new Float32Array([1, 2, 3]));
 * cpu.dispatch("unary", [x], [x], { fn: "neg" });
 * console.log(await cpu.read(x)); // Float32Array [-1, -2, -3]
 * ```
 */
export function createCpuBackend(opts: CpuOptions = {}): CpuBackend {
  const f64 = opts.float64 ?? false;
  const env = readEnv("NK_CPU_THREADS");
  const threads = opts.threads ?? (f64 ? 1 : env ? Number(env) : Math.min(navigator.hardwareConcurrency || 1, 4));
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`Invalid CPU threads ${threads}: expected an integer ≥ 1`);
  }
  const simd = !f64 && (opts.simd ?? readEnv("NK_SIMD") !== "0");
  let matmulKernel = "typescript (blas disabled by option)";
  let blas: Blas | null = null;
  if (opts.blas ?? true) {
    const loaded = loadBlas();
    if ("gemm" in loaded) [blas, matmulKernel] = [loaded, loaded.library];
    else matmulKernel = `typescript (${loaded.error})`;
  }
  const kernels: { [K in OpName]: Kernel } = {
    unary: (a: OpAttrs["unary"], [y], [x]) => unary(a.fn, x, y, f64),
    binary: (a: OpAttrs["binary"], [y], [x, w]) => binary(a.fn, a.shape, a.aStrides, a.bStrides, x, w, y, f64),
    affine: (a: OpAttrs["affine"], [y], [x]) => affine(a.scale, a.bias, x, y),
    reduce: (a: OpAttrs["reduce"], [y], [x]) => reduce(a.fn, a.outer, a.size, a.inner, x, y),
    matmul: (a: OpAttrs["matmul"], [c], [x, w]) =>
      blas && c instanceof Float32Array && x instanceof Float32Array && w instanceof Float32Array
        ? void runMatmul(threads, a, c, x, w, blas)
        : matmul(a, x, w, c, sgemmTs),
    strided: (a: OpAttrs["strided"], [y], [x]) => strided(a.shape, a.strides, a.offset, x, y),
    scatterStrided: (a: OpAttrs["scatterStrided"], [dst], [_dst, src]) =>
      scatterStrided(a.shape, a.strides, a.offset, src, dst),
    fill: (a: OpAttrs["fill"], [y]) => y.fill(a.value),
    gather: (a: OpAttrs["gather"], [y], [t, ids]) => gather(a.rows, a.cols, a.vocab, t, ids, y),
    scatterAdd: (a: OpAttrs["scatterAdd"], [dt], [dy, ids]) => scatterAdd(a.rows, a.cols, a.vocab, dy, ids, dt),
    causalMask: (a: OpAttrs["causalMask"], [y], [x]) => causalMask(a.rows, a.tq, a.tk, a.value, x, y),
    softmax: (a: OpAttrs["softmax"], [y], [x]) => softmax(a.rows, a.cols, a.causalTq ?? 0, x, y, f64),
    softmaxBackward: (a: OpAttrs["softmaxBackward"], [dx], [y, dy]) => softmaxBackward(a.rows, a.cols, y, dy, dx),
    layerNorm: (a: OpAttrs["layerNorm"], [y, m, s], [x, g, b]) => layerNorm(a.rows, a.cols, a.eps, x, g, b, y, m, s),
    layerNormBackward: (a: OpAttrs["layerNormBackward"], [dx, dg, db], [dy, x, g, m, s]) => {
      const accG = new Float64Array(a.cols), accB = new Float64Array(a.cols);
      layerNormBackward(a.rows, a.cols, dy, x, g, m, s, dx, accG, accB);
      dg.set(accG);
      db.set(accB);
    },
    crossEntropy: (a: OpAttrs["crossEntropy"], [loss, lse], [x, t]) =>
      crossEntropy(a.rows, a.cols, x, t, loss, lse, f64),
    crossEntropyBackward: (a: OpAttrs["crossEntropyBackward"], [dx], [x, t, lse, dl]) =>
      crossEntropyBackward(a.rows, a.cols, x, t, lse, dl, dx, f64),
    dropout: (a: OpAttrs["dropout"], [y], [x]) => dropout(a.p, a.seed, x, y, f64),
    adamw: (a: OpAttrs["adamw"], [p, m, v], [_p, _m, _v, g]) => adamw(a, p, m, v, g),
  };
  let live = 0, liveBuffers = 0, pooled = 0, destroyed = false;
  const pool = new Map<string, Arr[]>();
  const fresh = (kind: "f32" | "f64" | "i32", size: number): Arr =>
    (simd && size > 0 ? allocate(kind, size) : null) ?? (threads > 1 ? sharedArray(kind, size) : ARRAYS[kind](size));
  const arr = (b: DeviceBuffer): Arr => {
    if (destroyed) throw new Error("Cannot use the cpu backend after destroy()");
    if (!(b instanceof CpuBuffer)) throw new Error(`Cannot use a ${b?.constructor?.name} on the cpu backend`);
    return b.data;
  };
  return {
    name: "cpu",
    matmulKernel,
    threads,
    simd,
    alloc(size, dtype) {
      if (!Number.isInteger(size) || size < 0) {
        throw new Error(`Cannot allocate ${size} elements: expected an integer ≥ 0`);
      }
      const key = `${dtype}:${size}`;
      const reused = pool.get(key)?.pop();
      const kind = dtype === "i32" ? "i32" : f64 ? "f64" : "f32";
      const data = reused ?? fresh(kind, size);
      if (reused) pooled -= data.byteLength;
      live += data.byteLength;
      liveBuffers++;
      const buffer = new CpuBuffer(data, dtype);
      if (owns(data)) unreleased.register(buffer, data, buffer);
      return buffer;
    },
    free(b) {
      const data = arr(b);
      live -= data.byteLength;
      liveBuffers--;
      (b as CpuBuffer).data = FREED;
      unreleased.unregister(b);
      // A heap block goes straight back to the heap, where any size can reuse it (the peak stays near the most
      // live bytes). Other arrays are pooled by size: fresh pages cost ~11 µs per 4 KiB on first touch. A shared
      // array is pooled past the limit: dropped, its memory did not come back with worker threads running (it did on
      // one thread), +870 MiB a step on t1 at batchSize 144 whose activations pass the heap's 4 GiB; pooled, the arrays
      // of the next step reuse it (the same sizes come back each step).
      if (owns(data)) release(data);
      else if (
        data.byteLength > 0 && (pooled + data.byteLength <= POOL_LIMIT || data.buffer instanceof SharedArrayBuffer)
      ) {
        const key = `${b.dtype}:${data.length}`;
        const list = pool.get(key) ?? pool.set(key, []).get(key)!;
        list.push(data);
        pooled += data.byteLength;
      }
    },
    write(b, data) {
      const dst = arr(b);
      if (data.length !== dst.length) {
        throw new Error(`Cannot write ${data.length} values into a buffer of ${dst.length}`);
      }
      dst.set(data);
    },
    read(b) {
      const data = arr(b);
      return Promise.resolve(b.dtype === "i32" ? new Int32Array(data) : new Float32Array(data));
    },
    readExact(b) {
      const data = arr(b);
      return data.slice();
    },
    dispatch(op, outs, ins, attrs) {
      const k = kernels[op];
      if (!k) throw new Error(`Unknown op "${op}" on the cpu backend`);
      const o = outs.map(arr), i = ins.map(arr);
      const fast = simd && simdApplies(op, attrs, o, i);
      if (runSplit(threads, op, attrs, o, i, f64, fast)) return;
      if (fast) runSimd(op, attrs, o, i);
      else k(attrs, o, i);
    },
    // The heap's free bytes count as pooled: kept by the process for reuse (shared by every CPU backend in it).
    memory: () => ({ liveBytes: live, pooledBytes: pooled + (simd ? heapStats().free : 0), liveBuffers }),
    destroy() {
      destroyed = true;
      pool.clear();
      pooled = 0;
    },
  };
}
