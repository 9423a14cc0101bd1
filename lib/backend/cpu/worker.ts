/**
 * A CPU worker thread: runs the parts `threads.ts` posts, on views of the shared arrays (or, for a SIMD part, on
 * the heap the main thread shares at start), and flags each done.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import type { OpAttrs } from "../backend.ts";
import { type Part, PARTS } from "./parts.ts";
import { type Job, view, type WorkerInit } from "./threads.ts";
import { heapKernels } from "./simd/heap.ts";
import { SIMD, type SimdPart } from "./simd/ops.ts";

const init = workerData as WorkerInit;
const flags = new Int32Array(init.flags);
const kernels = init.memory ? heapKernels(init.memory) : null;

parentPort!.on("message", (job: Job) => {
  let status = 1;
  try {
    if (job.simd) {
      const simd = SIMD[job.op] as SimdPart<OpAttrs[keyof OpAttrs]>;
      const ptr = (d: { offset: number }) => d.offset;
      simd.run(
        kernels!,
        job.lo,
        job.hi,
        job.attrs as never,
        job.outs.map(ptr),
        job.ins.map(ptr),
        job.scratch?.offset ?? 0,
      );
    } else {
      const part = PARTS[job.op] as Part<OpAttrs[keyof OpAttrs]>;
      const scratch = job.scratch ? view(job.scratch) as Float64Array : null;
      part.run(job.lo, job.hi, job.attrs as never, job.outs.map(view), job.ins.map(view), job.exact, scratch);
    }
  } catch {
    status = 2;
  }
  Atomics.store(flags, job.status, status);
  Atomics.notify(flags, job.status);
});
Atomics.store(flags, init.ready, 1);
