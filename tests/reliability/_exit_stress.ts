/**
 * Exit-time stress (issue 14, item 5: glibc's "corrupted size vs. prev_size in fastbins" once after the summary
 * line of a full test run, "double free" at exit once before). Each variant does one narrow thing that leaves
 * native threads or device state alive, then the process ends at once; run it many times (`exit_stress_test.ts`
 * does a few of each): a heap corruption at exit shows as a non-zero status, a signal, or glibc's "corrupted …" /
 * "double free" / Deno's panic text on stderr. The `nested-*` variants and the modules `exit_stress_test.ts` runs
 * under `deno test --parallel` put several isolates with devices and worker threads in one process, as the test
 * task does.
 *
 * What it found: with Deno's WebGPU probing GL as well as Vulkan, `deno test --parallel` over six modules built
 * from these variants printed glibc's abort after its summary in 9 of 300 runs (cores: a thread's TSD destructor
 * freeing memory while the main thread ran the EGL/GLdispatch destructors in `exit`); with Vulkan only, none of
 * 300. The CPU worker-thread modules alone: none of 60 under `MALLOC_CHECK_=3`. See `preferVulkan` in
 * lib/backend/webgpu/adapter.ts.
 *
 * `deno run -A tests/reliability/_exit_stress.ts <variant> [--exit | --exit-idle] [--rounds=N] [--workers=K]`
 * - `--exit` ends with `Deno.exit(0)` at once instead of letting the event loop drain (a natural exit). With GPU
 *   work still queued (`gpu-pending-submit`) that is unsafe on Mesa's lavapipe: its queue thread compiles shaders
 *   with LLVM while the exit handlers run (4 of 600 runs crashed here, SIGSEGV in LLVM's MCJIT or "free(): invalid
 *   next size"; none of 800 in a later batch). `exit_stress_test.ts` does not run those combinations.
 * - `--exit-idle` ends through `exitWhenIdle(0)` (lib/cli/common.ts), what the CLIs do: waits for the queued GPU
 *   work, then `Deno.exit`.
 * - `cpu-train` (the default; a bare number is its rounds, the older form): CPU backends with worker threads
 *   created N times, split kernels and the matmul, an adapter probe and a three-step train.
 *
 * The variants and what each leaves behind at exit are listed in `VARIANTS`. A variant that needs WebGPU fails
 * with the adapter's reason when there is none (the test skips those).
 * @module
 */
import type { Backend } from "../../lib/backend/backend.ts";
import { createBackend } from "../../lib/backend/select.ts";
import { createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import { readyWorkers } from "../../lib/backend/cpu/threads.ts";
import type { WebGpuBackend } from "../../lib/backend/webgpu/mod.ts";
import { setBackend } from "../../lib/core/runtime.ts";
import { randn } from "../../lib/core/create.ts";
import type { Tensor } from "../../lib/core/tensor.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { train } from "../../lib/train/loop.ts";
import { exitWhenIdle } from "../../lib/cli/common.ts";

/** Options a variant takes. */
export interface StressOptions {
  /** Rounds of `cpu-train` (default 20). */
  rounds?: number;
  /** Deno workers of the `nested-*` variants (default 3). */
  workers?: number;
}

/** One variant: what it needs, what it leaves alive at exit, and the body. */
export interface Variant {
  /** Needs a WebGPU adapter. */
  gpu: boolean;
  /** What is still alive (or in flight) when the process ends. */
  leaves: string;
  run(opts: StressOptions): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A few kernels of every kind (matmul, elementwise, broadcast, softmax) on `b`; reads the result when `read`. */
async function kernels(b: Backend, n: number, read = true): Promise<Tensor[]> {
  setBackend(b);
  const a = randn([n, n]), c = randn([n, n]);
  const d = a.matmul(c).gelu().add(a).softmax();
  if (read) await d.toArray();
  return [a, c, d];
}

async function gpu(): Promise<WebGpuBackend> {
  return await createBackend({ backend: "webgpu" }) as WebGpuBackend;
}

/** A four-thread CPU backend; with `ready`, waits (≤ 20 s) until its three worker threads listen. */
async function cpuThreads(ready: boolean): Promise<Backend> {
  const b = createCpuBackend({ threads: 4 });
  const t0 = Date.now();
  while (ready && readyWorkers(3) < 3) {
    if (Date.now() - t0 > 20_000) throw new Error("CPU worker threads did not become ready in 20 s");
    await sleep(5);
  }
  return b;
}

async function cpuTrain(opts: StressOptions): Promise<void> {
  for (let i = 0; i < (opts.rounds ?? 20); i++) {
    const backend = await createBackend({ backend: "cpu" });
    const ts = await kernels(backend, 256);
    for (const t of ts) t.dispose();
  }
  const config = resolveConfig([{ // backend "auto": probes the (fallback) adapter, destroys it, trains on the CPU
    corpus: "fixture",
    layers: 1,
    dModel: 64,
    dFF: 256,
    contextLength: 64,
    batchSize: 8,
    steps: 3,
    warmup: 1,
    evalEvery: 0,
  }]);
  const run = await train({ config });
  run.model.dispose();
}

/**
 * Each of `k` Deno workers (what `deno test --parallel` runs a test module in: an isolate on its own thread in
 * the same process) runs `inner` and reports; `end` says how each worker ends before the process does: it closes
 * itself ("close", as a finished test module's isolate goes), the main thread terminates it ("terminate"), or it
 * stays alive ("alive", which keeps a natural exit waiting: use it with `--exit`).
 */
async function nested(inner: string, k: number, end: "close" | "terminate" | "alive"): Promise<void> {
  const ws = Array.from({ length: k }, () => new Worker(import.meta.url, { type: "module", name: "exit-stress" }));
  await Promise.all(ws.map((w) =>
    new Promise<void>((resolve, reject) => {
      w.onmessage = (e) => (e.data === "done" ? resolve() : reject(new Error(String(e.data))));
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      w.postMessage(end === "close" ? `${inner} close` : inner);
    })
  ));
  if (end === "terminate") { for (const w of ws) w.terminate(); }
}

/** The variants, by name. */
export const VARIANTS: Record<string, Variant> = {
  "cpu-train": {
    gpu: false,
    leaves: "idle CPU worker threads after many backends, split kernels, an adapter probe and a short train",
    run: cpuTrain,
  },
  "cpu-starting": {
    gpu: false,
    leaves: "CPU worker threads still starting (kernels ran on the main thread)",
    run: async () => void await kernels(await cpuThreads(false), 512),
  },
  "cpu-just-done": {
    gpu: false,
    leaves: "three CPU worker threads that just finished their parts of split kernels",
    run: async () => void await kernels(await cpuThreads(true), 512),
  },
  "gpu-destroy": {
    gpu: true,
    leaves: "nothing: the device is destroyed after its kernels",
    run: async () => {
      const g = await gpu();
      await kernels(g, 256);
      g.destroy();
    },
  },
  "gpu-keep": {
    gpu: true,
    leaves: "a live WebGPU device with pipelines and pooled buffers",
    run: async () => void await kernels(await gpu(), 256),
  },
  "gpu-many": {
    gpu: true,
    leaves: "two of four devices not destroyed",
    run: async () => {
      for (let i = 0; i < 4; i++) {
        const g = await gpu();
        await kernels(g, 128);
        if (i % 2) g.destroy();
      }
    },
  },
  "gpu-pending-submit": {
    gpu: true,
    leaves: "a submitted batch (512² matmul and more) still running on the device",
    run: async () => {
      const g = await gpu();
      await kernels(g, 512, false);
      g.flush();
    },
  },
  "gpu-pending-map": {
    gpu: true,
    leaves: "a readback (mapAsync) in flight behind a 512² matmul",
    run: async () => {
      const g = await gpu();
      const [, , d] = await kernels(g, 512, false);
      d.toArray().catch(() => {});
    },
  },
  "gpu-pending-map-destroy": {
    gpu: true,
    leaves: "a readback in flight on a device destroyed under it",
    run: async () => {
      const g = await gpu();
      const [, , d] = await kernels(g, 512, false);
      d.toArray().catch(() => {});
      g.destroy();
    },
  },
  "both": {
    gpu: true,
    leaves: "a live device and three CPU worker threads that just ran split kernels",
    run: async () => {
      const g = await gpu();
      await kernels(g, 256);
      await kernels(await cpuThreads(true), 512);
    },
  },
  "both-pending": {
    gpu: true,
    leaves: "CPU worker threads still starting and a GPU readback in flight",
    run: async () => {
      await kernels(await cpuThreads(false), 512);
      const [, , d] = await kernels(await gpu(), 512, false);
      d.toArray().catch(() => {});
    },
  },
  "nested-cpu": {
    gpu: false,
    leaves: "closed Deno workers (as finished test modules) whose CPU worker threads just ran split kernels",
    run: (o) => nested("cpu-just-done", o.workers ?? 3, "close"),
  },
  "nested-both": {
    gpu: true,
    leaves: "closed Deno workers (as finished test modules), each with a live device and CPU worker threads",
    run: (o) => nested("both", o.workers ?? 3, "close"),
  },
  "nested-both-terminated": {
    gpu: true,
    leaves: "the same, the Deno workers terminated by the main thread just before the exit",
    run: (o) => nested("both", o.workers ?? 3, "terminate"),
  },
  "nested-both-alive": {
    gpu: true,
    leaves: "the same, the Deno workers still running (with --exit only: they keep a natural exit waiting)",
    run: (o) => nested("both", o.workers ?? 3, "alive"),
  },
};

/** Run one variant by name (throws on an unknown one). */
export async function runVariant(name: string, opts: StressOptions = {}): Promise<void> {
  const v = VARIANTS[name];
  if (!v) throw new Error(`Unknown exit-stress variant "${name}": expected one of ${Object.keys(VARIANTS).join(", ")}`);
  await v.run(opts);
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  // A nested variant's worker: run the variant posted ("name" or "name close"), report "done" (or the error),
  // then close itself when asked (as a finished test module's isolate goes) or stay alive.
  scope.onmessage = async (e: MessageEvent<string>) => {
    const [name, close] = e.data.split(" ");
    try {
      await runVariant(name);
      scope.postMessage("done");
    } catch (err) {
      scope.postMessage(String((err as Error)?.stack ?? err));
    }
    if (close === "close") scope.close();
  };
} else if (import.meta.main) {
  const args = Deno.args.filter((a) => !a.startsWith("--"));
  const flag = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const bare = args[0] !== undefined && /^\d+$/.test(args[0]);
  const name = bare || args[0] === undefined ? "cpu-train" : args[0];
  const rounds = bare ? Number(args[0]) : flag("rounds") === undefined ? undefined : Number(flag("rounds"));
  const workers = flag("workers") === undefined ? undefined : Number(flag("workers"));
  await runVariant(name, { rounds, workers });
  console.log("done");
  if (Deno.args.includes("--exit")) Deno.exit(0);
  if (Deno.args.includes("--exit-idle")) await exitWhenIdle(0);
}
