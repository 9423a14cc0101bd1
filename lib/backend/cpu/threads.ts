/**
 * Worker threads for the CPU backend's splittable kernels (`parts.ts`), through `node:worker_threads` (the one
 * module here that touches threads: Deno's own Worker cannot be unref'd, so an idle pool would keep the process
 * alive). One pool per thread serves every CPU backend in it, growing to the most threads any backend asks for.
 *
 * A call hands parts 1…n−1 to workers, runs part 0 itself, then waits (spinning briefly, then in `Atomics.wait`)
 * until each worker flags its part done (arrays are SharedArrayBuffer-backed, so nothing is copied). A SIMD part
 * is one kernel call whose arguments are numbers: the main thread writes them into the worker's slot of shared
 * memory and bumps its job word, which the worker, blocked on that word, sees at once (a `postMessage` took
 * ~100 µs to arrive here, as long as a 256k-element LayerNorm). A TypeScript part, whose arrays must travel, is
 * posted as a message and the job word tells the worker to return to its event loop for it. A worker takes jobs
 * only after it flags itself ready; until then, or if it failed to start, calls run on fewer threads, never wait
 * for it. Ops below MIN_PART_ELEMENTS (TypeScript) or ~MIN_PART_NS of work (SIMD) per part stay on one thread.
 * @module
 */
import { Worker } from "node:worker_threads";
import type { OpAttrs, OpName } from "../backend.ts";
import type { Arr } from "./elementwise.ts";
import { PARTS } from "./parts.ts";
import { allocate, heapKernels, heapMemory, type Kernels, release } from "./simd/heap.ts";
import { pointers, SIMD, type SimdPart } from "./simd/ops.ts";

/** Fewest elements worth a part of their own for a TypeScript kernel (a worker round trip is ~45 µs; ~2 ns each). */
export const MIN_PART_ELEMENTS = 32768;
/** Least work worth a part for a SIMD kernel, in nanoseconds (its elements × the op's `ns` estimate). */
const MIN_PART_NS = 65536;
/** How long a worker may take on one part before the call fails instead of hanging. */
const TIMEOUT_MS = 60_000;
/**
 * Flag words per worker: 0 ready (1 once listening, −1 failed), 1 part status (0 running, 1 done, 2 failed),
 * 2 job (0 none, JOB_CALL a kernel call in the worker's argument slot, JOB_MESSAGE a posted TypeScript part).
 */
const WORDS = 3;
export const JOB_CALL = 1, JOB_MESSAGE = 2;
/** Float64 words per worker's argument slot: the kernel's index in KERNEL_NAMES, the count, the arguments. */
export const SLOT = 24;
const MAX_WORKERS = 64;
/**
 * How long the main thread spins on a worker's status before sleeping in Atomics.wait (waking costs ~100 µs): long
 * enough for the usual imbalance between parts, short enough not to starve the worker of a core on a loaded
 * machine (a 5 ms spin made a loaded test suite crawl).
 */
const SPIN_MS = 0.2;

/** A typed array as a worker receives it. */
export interface ArrDesc {
  buffer: SharedArrayBuffer;
  kind: "f32" | "f64" | "i32";
  offset: number;
  length: number;
}

/** A TypeScript part as posted to a worker. */
export interface Job {
  op: OpName;
  attrs: unknown;
  lo: number;
  hi: number;
  outs: ArrDesc[];
  ins: ArrDesc[];
  exact: boolean;
  scratch: ArrDesc | null;
  /** Index of this worker's status word in the flags. */
  status: number;
}

/** Message a worker gets at start. */
export interface WorkerInit {
  flags: SharedArrayBuffer;
  /** This worker's first flag word (ready; status and job follow). */
  ready: number;
  /** The argument slots (SLOT float64 words per worker), and this worker's first word in them. */
  args: SharedArrayBuffer;
  slot: number;
  /** The heap the SIMD kernels run on (null where shared WebAssembly memory is unavailable). */
  memory: WebAssembly.Memory | null;
}

const flags = new Int32Array(new SharedArrayBuffer(4 * WORDS * MAX_WORKERS));
const args = new Float64Array(new SharedArrayBuffer(8 * SLOT * MAX_WORKERS));
const workers: Worker[] = [];

/** The kernels' export names in a fixed order (the same module on every thread): a call's index. */
export const kernelNames = (k: Kernels): string[] => Object.keys(k).sort();

/**
 * Hand worker k a call: `tag` (a kernel's index in kernelNames, or matmul_parts.ts's GEMM_CALL) and its numeric
 * arguments go into the worker's argument slot, then its job word wakes it. `join` waits for it.
 */
export function postCall(k: number, tag: number, a: number[]): void {
  const slot = args.subarray(k * SLOT, (k + 1) * SLOT);
  Atomics.store(flags, k * WORDS + 1, 0);
  slot[0] = tag;
  slot[1] = a.length;
  slot.set(a, 2);
  Atomics.store(flags, k * WORDS + 2, JOB_CALL);
  Atomics.notify(flags, k * WORDS + 2);
}

/** Kernels that, instead of running, post their call to worker k (a SIMD part bound for it). */
const recorders = new Map<number, Kernels>();
function recorder(k: number): Kernels {
  const found = recorders.get(k);
  if (found) return found;
  const names = kernelNames(heapKernels()!);
  const calls = Object.fromEntries(names.map((name, i) => [name, (...a: number[]) => postCall(k, i, a)]));
  recorders.set(k, calls as unknown as Kernels);
  return calls as unknown as Kernels;
}

/** Start workers up to `n` (they become usable once they flag ready). */
function grow(n: number): void {
  while (workers.length < Math.min(n, MAX_WORKERS)) {
    const k = workers.length;
    try {
      const init: WorkerInit = {
        flags: flags.buffer as SharedArrayBuffer,
        ready: k * WORDS,
        args: args.buffer as SharedArrayBuffer,
        slot: k * SLOT,
        memory: heapMemory(),
      };
      // An eval'd dynamic import: node:worker_threads takes only file paths, the import also http(s) URLs (JSR).
      const url = JSON.stringify(new URL("./worker.ts", import.meta.url).href);
      const w = new Worker(`import(${url});`, { eval: true, workerData: init });
      w.on("error", () => Atomics.store(flags, k * WORDS, -1));
      w.on("exit", () => Atomics.store(flags, k * WORDS, -1));
      w.unref();
      workers.push(w);
    } catch {
      Atomics.store(flags, k * WORDS, -1);
      workers.push(undefined as unknown as Worker);
      return;
    }
  }
}

/** Workers started and ready to take parts (for tests and diagnostics); starts them up to `n` first. */
export function readyWorkers(n: number): number {
  grow(n);
  let ready = 0;
  for (let k = 0; k < workers.length; k++) if (Atomics.load(flags, k * WORDS) === 1) ready++;
  return ready;
}

function describe(a: Arr): ArrDesc | null {
  if (!(a.buffer instanceof SharedArrayBuffer)) return null;
  const kind = a instanceof Float32Array ? "f32" : a instanceof Float64Array ? "f64" : "i32";
  return { buffer: a.buffer, kind, offset: a.byteOffset, length: a.length };
}

/** Typed-array view of a descriptor (used by workers). */
export function view(d: ArrDesc): Arr {
  if (d.kind === "f32") return new Float32Array(d.buffer, d.offset, d.length);
  return d.kind === "f64"
    ? new Float64Array(d.buffer, d.offset, d.length)
    : new Int32Array(d.buffer, d.offset, d.length);
}

/** Arrays a pooled CPU backend allocates: SharedArrayBuffer-backed, so workers see them. */
export function sharedArray(kind: "f32" | "f64" | "i32", length: number): Arr {
  const buffer = new SharedArrayBuffer(length * (kind === "f64" ? 8 : 4));
  return view({ buffer, kind, offset: 0, length });
}

/**
 * Run `op` over up to `threads` threads (this one included) when it has a part and enough work; returns false,
 * having done nothing, when it should run on one thread. With `simd`, every part runs the op's SIMD kernel
 * (simd/ops.ts) on the heap arrays, and the scratch is in the heap too; a part then needs ~65 µs of work by the
 * op's estimate. `minPartElements` overrides the smallest part (tests).
 */
export function runSplit<K extends OpName>(
  threads: number,
  op: K,
  attrs: OpAttrs[K],
  outs: Arr[],
  ins: Arr[],
  exact: boolean,
  simd = false,
  minPartElements?: number,
): boolean {
  const part = PARTS[op] as import("./parts.ts").Part<OpAttrs[K]> | undefined;
  if (!part || threads < 2) return false;
  const ready = readyOf(threads - 1);
  const { units, align, perUnit } = part.split(attrs, outs);
  const blocks = Math.floor(units / align);
  const min = minPartElements ??
    (simd ? Math.ceil(MIN_PART_NS / (SIMD[op] as SimdPart<OpAttrs[K]>).ns(attrs)) : MIN_PART_ELEMENTS);
  const n = Math.min(1 + ready.length, blocks, Math.floor((units * perUnit) / min));
  if (n < 2) return false;
  if (outs.some((a) => !describe(a)) || ins.some((a) => !describe(a))) return false;
  const per = part.scratch?.(attrs) ?? 0;
  const scratch = per ? (simd ? allocate("f64", per * n) : sharedArray("f64", per * n)) as Float64Array | null : null;
  if (per && !scratch) return false;
  try {
    split(op, attrs, outs, ins, exact, simd, n, bounds(units, blocks, align, n), ready, scratch, per);
  } finally {
    if (simd && scratch) release(scratch);
  }
  return true;
}

/** Split points of `units` into n parts, each a multiple of `align` but the last. */
export function bounds(units: number, blocks: number, align: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (i === n ? units : Math.round((blocks * i) / n) * align));
}

function split<K extends OpName>(
  op: K,
  attrs: OpAttrs[K],
  outs: Arr[],
  ins: Arr[],
  exact: boolean,
  simd: boolean,
  n: number,
  bounds: number[],
  ready: number[],
  scratch: Float64Array | null,
  per: number,
): void {
  const part = PARTS[op] as import("./parts.ts").Part<OpAttrs[K]>;
  const s = simd ? SIMD[op] as SimdPart<OpAttrs[K]> : null;
  const [outD, inD] = s ? [[], []] : [outs.map(describe) as ArrDesc[], ins.map(describe) as ArrDesc[]];
  const ptrs = s && [pointers(outs), pointers(ins)];
  for (let i = 1; i < n; i++) {
    const k = ready[i - 1], status = k * WORDS + 1, job = k * WORDS + 2;
    const partScratch = scratch && scratch.subarray(i * per, (i + 1) * per);
    if (s) {
      s.run(recorder(k), bounds[i], bounds[i + 1], attrs, ptrs![0], ptrs![1], partScratch?.byteOffset ?? 0);
    } else {
      Atomics.store(flags, status, 0);
      const msg: Job = {
        op,
        attrs,
        lo: bounds[i],
        hi: bounds[i + 1],
        outs: outD,
        ins: inD,
        exact,
        scratch: partScratch && describe(partScratch),
        status,
      };
      workers[k].postMessage(msg);
      Atomics.store(flags, job, JOB_MESSAGE);
      Atomics.notify(flags, job);
    }
  }
  if (s) s.run(heapKernels()!, bounds[0], bounds[1], attrs, ptrs![0], ptrs![1], scratch?.byteOffset ?? 0);
  else part.run(bounds[0], bounds[1], attrs, outs, ins, exact, scratch && scratch.subarray(0, per));
  join(op, ready, n);
  if (scratch) part.combine!(scratch, per, n, outs);
}

/** Wait for workers ready[0…n−2] to flag their parts of `op` done (spinning SPIN_MS, then sleeping). */
export function join(op: string, ready: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const status = ready[i - 1] * WORDS + 1;
    const t0 = performance.now();
    while (Atomics.load(flags, status) === 0) {
      if (performance.now() - t0 < SPIN_MS) continue;
      if (Atomics.wait(flags, status, 0, 1000) === "timed-out" && performance.now() - t0 > TIMEOUT_MS) {
        throw new Error(`CPU worker thread ${ready[i - 1]} did not finish ${op} in ${TIMEOUT_MS / 1000} s`);
      }
    }
    if (Atomics.load(flags, status) !== 1) throw new Error(`CPU worker thread ${ready[i - 1]} failed running ${op}`);
  }
}

/** Workers flagged ready, up to `want`. */
export function readyOf(want: number): number[] {
  grow(want);
  const ready: number[] = [];
  for (let k = 0; k < want && k < workers.length; k++) if (Atomics.load(flags, k * WORDS) === 1) ready.push(k);
  return ready;
}
