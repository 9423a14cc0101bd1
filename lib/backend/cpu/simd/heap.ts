/**
 * The CPU backend's float32 tensors live in one shared `WebAssembly.Memory` (the heap) so the SIMD kernels of
 * kernels.c run on them in place, on the main thread and on the worker threads alike, and OpenBLAS reads the same
 * bytes by pointer. One heap per process serves every CPU backend in it. Blocks are 64-byte aligned (a cache line)
 * and come back through `release` (the backend's pool keeps freed blocks for reuse first); free blocks coalesce.
 * When the heap cannot grow (WebAssembly memory stops at 4 GiB) `allocate` returns null and the backend falls
 * back to a plain array and the TypeScript kernels, so nothing fails for lack of heap.
 *
 * A view of a block stays valid while the memory grows (shared memory never detaches), but `memory.buffer` is a
 * new SharedArrayBuffer after each growth: `owns` knows them all.
 * @module
 */
import { SOURCE_SHA256, WASM_BASE64 } from "./kernels.wasm.ts";

const PAGE = 65536;
/** Most pages of a wasm32 memory (4 GiB). */
const MAX_PAGES = 65536;
/** Bytes below this are the module's own (its declared initial memory: static data and stack, both unused). */
const BASE = 2 * PAGE;
const ALIGN = 64;
/** Grow by at least this much, so growth (a system call and a new buffer) stays rare. */
const MIN_GROWTH = 64 * 2 ** 20;

/** The exported kernels (see kernels.c for each one's contract; pointers are byte offsets into the heap). */
export interface Kernels {
  init_constants(): void;
  unary(fn: number, x: number, y: number, lo: number, hi: number): void;
  affine(x: number, y: number, lo: number, hi: number, scale: number, bias: number): void;
  binary(
    fn: number,
    a: number,
    b: number,
    y: number,
    lo: number,
    hi: number,
    n: number,
    aRowStride: number,
    aScalar: number,
    bRowStride: number,
    bScalar: number,
  ): void;
  adamw(
    p: number,
    m: number,
    v: number,
    g: number,
    lo: number,
    hi: number,
    beta1: number,
    beta2: number,
    eps: number,
    decay: number,
    stepSize: number,
  ): void;
  strided(
    x: number,
    y: number,
    lo: number,
    hi: number,
    offset: number,
    n1: number,
    n2: number,
    n3: number,
    n4: number,
    n5: number,
    s0: number,
    s1: number,
    s2: number,
    s3: number,
    s4: number,
    s5: number,
  ): void;
  sum(x: number, y: number, o0: number, o1: number, size: number, inner: number, c0: number, c1: number): void;
  layer_norm(
    x: number,
    g: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    lo: number,
    hi: number,
    cols: number,
    eps: number,
  ): void;
  layer_norm_backward(
    dy: number,
    x: number,
    g: number,
    mean: number,
    rstd: number,
    dx: number,
    acc: number,
    lo: number,
    hi: number,
    cols: number,
  ): void;
  softmax(x: number, y: number, lo: number, hi: number, cols: number, causalTq: number): void;
  softmax_backward(y: number, dy: number, dx: number, lo: number, hi: number, cols: number): void;
  cross_entropy(x: number, t: number, loss: number, lse: number, lo: number, hi: number, cols: number): void;
  cross_entropy_backward(
    x: number,
    t: number,
    lse: number,
    dl: number,
    dx: number,
    lo: number,
    hi: number,
    cols: number,
  ): void;
}

let module: WebAssembly.Module | undefined;
let memory: WebAssembly.Memory | undefined;
let kernels: Kernels | undefined;

/** The compiled kernels module (compiled once per thread). */
function kernelModule(): WebAssembly.Module {
  return module ??= new WebAssembly.Module(Uint8Array.fromBase64(WASM_BASE64));
}

/** The build's source digest (tests compare it with kernels.c). */
export const KERNELS_SOURCE_SHA256 = SOURCE_SHA256;

/**
 * This process's heap memory, created on first use; null where WebAssembly shared memory is unavailable (the
 * backend then runs its TypeScript kernels on plain arrays).
 */
export function heapMemory(): WebAssembly.Memory | null {
  if (memory) return memory;
  try {
    memory = new WebAssembly.Memory({ initial: BASE / PAGE, maximum: MAX_PAGES, shared: true });
  } catch {
    return null;
  }
  buffers.add(memory.buffer as SharedArrayBuffer);
  // The thread that makes the memory writes the kernels' constant table into it, once.
  heapKernels(memory)!.init_constants();
  return memory;
}

/** The kernels on this thread, instantiated on `mem` (a worker passes the memory the main thread made). */
export function heapKernels(mem: WebAssembly.Memory | null = heapMemory()): Kernels | null {
  if (kernels || !mem) return kernels ?? null;
  memory ??= mem;
  const instance = new WebAssembly.Instance(kernelModule(), { env: { memory: mem } });
  return kernels = instance.exports as unknown as Kernels;
}

/** Every SharedArrayBuffer the heap memory has shown (one per growth). */
const buffers = new Set<SharedArrayBuffer>();
/** Free blocks: start → size, end → start for coalescing, and size → starts for an exact fit at once. */
const freeAt = new Map<number, number>();
const freeEnd = new Map<number, number>();
const freeOfSize = new Map<number, Set<number>>();
/** The first byte never handed out. */
let top = BASE;

/** Whether `a` is a view into the heap (its byteOffset is then its pointer). */
export function owns(a: ArrayBufferView): boolean {
  return buffers.has(a.buffer as SharedArrayBuffer);
}

type Kind = "f32" | "i32" | "f64";

/** A heap block of `length` elements viewed as `kind`, or null when the heap cannot hold it. */
export function allocate(kind: Kind, length: number): Float32Array | Int32Array | Float64Array | null {
  const mem = heapMemory();
  if (!mem) return null;
  const bytes = length * (kind === "f64" ? 8 : 4);
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const at = takeFree(size) ?? bump(mem, size);
  if (at === null) return null;
  const buffer = mem.buffer as SharedArrayBuffer;
  buffers.add(buffer);
  if (kind === "f32") return new Float32Array(buffer, at, length);
  return kind === "i32" ? new Int32Array(buffer, at, length) : new Float64Array(buffer, at, length);
}

/** Give a block from `allocate` back (its views must not be used afterwards). */
export function release(a: Float32Array | Int32Array | Float64Array): void {
  if (!owns(a)) throw new Error("Cannot release an array that is not in the heap");
  let at = a.byteOffset, size = Math.max(ALIGN, Math.ceil(a.byteLength / ALIGN) * ALIGN);
  const before = freeEnd.get(at);
  if (before !== undefined) {
    size += freeAt.get(before)!;
    unlink(before);
    at = before;
  }
  const after = freeAt.get(at + size);
  if (after !== undefined) {
    unlink(at + size);
    size += after;
  }
  if (at + size === top) top = at;
  else link(at, size);
}

function link(at: number, size: number): void {
  freeAt.set(at, size);
  freeEnd.set(at + size, at);
  const same = freeOfSize.get(size);
  if (same) same.add(at);
  else freeOfSize.set(size, new Set([at]));
}

/** Bytes in use and free inside the heap, and its size (for tests and benchmarks). */
export function heapStats(): { used: number; free: number; size: number } {
  let free = 0;
  for (const s of freeAt.values()) free += s;
  const size = memory ? memory.buffer.byteLength : 0;
  return { used: top - BASE - free, free, size };
}

function unlink(at: number): void {
  const size = freeAt.get(at)!;
  freeAt.delete(at);
  freeEnd.delete(at + size);
  const same = freeOfSize.get(size)!;
  same.delete(at);
  if (same.size === 0) freeOfSize.delete(size);
}

/** An exact fit, else the best fit among the free blocks (the rest of that block stays free). */
function takeFree(size: number): number | null {
  const exact = freeOfSize.get(size);
  if (exact) {
    const at = exact.values().next().value!;
    unlink(at);
    return at;
  }
  let best = -1, bestSize = Infinity;
  for (const [s, starts] of freeOfSize) {
    if (s > size && s < bestSize) [best, bestSize] = [starts.values().next().value!, s];
  }
  if (best < 0) return null;
  unlink(best);
  link(best + size, bestSize - size);
  return best;
}

function bump(mem: WebAssembly.Memory, size: number): number | null {
  const end = top + size;
  const have = mem.buffer.byteLength;
  if (end > have) {
    const want = Math.min(MAX_PAGES, Math.ceil(Math.max(end, have + MIN_GROWTH, have * 1.25) / PAGE));
    const need = Math.ceil(end / PAGE);
    if (need > MAX_PAGES) return null;
    try {
      mem.grow(want - have / PAGE);
    } catch {
      try {
        mem.grow(need - have / PAGE);
      } catch {
        return null;
      }
    }
  }
  const at = top;
  top = end;
  return at;
}
