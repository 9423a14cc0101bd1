/**
 * A CPU worker thread: waits on its job word (threads.ts) and runs each job, flagging it done. A SIMD part is a
 * kernel call (or units of a matrix product, on this thread's BLAS) read from the worker's argument slot, run on the heap the main thread shares at start; a TypeScript
 * part comes as a message (the job word sends the worker back to its event loop for it) and runs on views of the
 * shared arrays. Blocked waits time out now and then, so the event loop (and termination) still gets its turn.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import type { OpAttrs } from "../backend.ts";
import { type Part, PARTS } from "./parts.ts";
import { type Job, JOB_CALL, JOB_MESSAGE, kernelNames, view, type WorkerInit } from "./threads.ts";
import { heapKernels, type Kernels } from "./simd/heap.ts";
import { type Blas, loadBlas } from "./blas.ts";
import { GEMM_CALL, gemmUnits } from "./matmul_parts.ts";

/** How long a worker spins on its job word after a job before sleeping (a wake-up costs ~100 µs here). */
const SPIN_MS = 0.2;
/** Longest sleep before the worker lets its event loop run. */
const IDLE_MS = 200;

const init = workerData as WorkerInit;
const flags = new Int32Array(init.flags);
const status = init.ready + 1, jobWord = init.ready + 2;
const slot = new Float64Array(init.args, init.slot * 8);
const kernels = init.memory ? heapKernels(init.memory) : null;
const calls = kernels
  ? kernelNames(kernels).map((name) => kernels[name as keyof Kernels] as (...a: number[]) => void)
  : [];
let blas: Blas | undefined;

/** The call in this worker's argument slot: a kernel (index ≥ 0) or a block of a matrix product (GEMM_CALL). */
function call(): void {
  const a = slot.subarray(2, 2 + slot[1]) as unknown as number[];
  if (slot[0] !== GEMM_CALL) return calls[slot[0]](...a);
  if (!blas) {
    const loaded = loadBlas();
    if (!("gemm" in loaded)) throw new Error(loaded.error);
    blas = loaded;
  }
  const [tA, tB, m, n, k, aPtr, bPtr, cPtr, aBS, bBS, axis, block, lo, hi] = a;
  const heap = init.memory!.buffer;
  gemmUnits(blas.gemm, [heap, heap, heap], tA, tB, m, n, k, aPtr, bPtr, cPtr, aBS, bBS, axis, block, lo, hi);
}

function done(code: number): void {
  Atomics.store(flags, status, code);
  Atomics.notify(flags, status);
}

/** Run kernel calls as they come, until a posted message is due or the worker has idled IDLE_MS. */
function serve(): void {
  let since = performance.now();
  for (;;) {
    const job = Atomics.exchange(flags, jobWord, 0);
    if (job === JOB_MESSAGE) return; // the message handler calls serve() again
    if (job === JOB_CALL) {
      let code = 1;
      try {
        call();
      } catch {
        code = 2;
      }
      done(code);
      since = performance.now();
      continue;
    }
    if (performance.now() - since < SPIN_MS) continue;
    if (Atomics.wait(flags, jobWord, 0, IDLE_MS) === "timed-out") {
      setTimeout(serve, 0);
      return;
    }
  }
}

parentPort!.on("message", (job: Job) => {
  let code = 1;
  try {
    const part = PARTS[job.op] as Part<OpAttrs[keyof OpAttrs]>;
    const scratch = job.scratch ? view(job.scratch) as Float64Array : null;
    part.run(job.lo, job.hi, job.attrs as never, job.outs.map(view), job.ins.map(view), job.exact, scratch);
  } catch {
    code = 2;
  }
  done(code);
  serve();
});
Atomics.store(flags, init.ready, 1);
setTimeout(serve, 0);
