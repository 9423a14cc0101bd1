/**
 * Matrix product GFLOP/s: the CPU backend with BLAS, the CPU backend with the TypeScript kernel, and the WebGPU
 * backend, each called through the generic `Backend` interface (alloc/write/dispatch("matmul")/read), against
 * PyTorch CPU (`torch.mm(a, b, out=c)`) measured in the same run.
 *
 * Legend: M N K matmul dims; C (M, N) = A (M, K) · B (K, N).
 * @module
 */
import type { Backend, OpAttrs } from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/cpu/blas.ts";
import { type BenchContext, type BenchGroup, type GroupResult, measure, type Row, runTorchPeer } from "./harness.ts";

/** [M, N, K]. */
type Case = [number, number, number];

const CASES: Case[] = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [4096, 1024, 256]];
/** The emulated WebGPU adapter runs ~2–20 GFLOP/s: above this many FLOPs per product, only with --full. */
const WEBGPU_MAX_FLOP = 2.2e9;
const COLUMNS = ["torch", "cpu-blas", "cpu-ts", "webgpu"];

const label = ([m, n, k]: Case) => (m === n && n === k ? `${m}³` : `(${m}×${k})·(${k}×${n})`);
const flop = ([m, n, k]: Case) => 2 * m * n * k;
const reason = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

/** A column: how to get its backend, whether a read must close each rep, and which cases it runs. */
interface Column {
  name: string;
  open(): Promise<Backend | string>; // a string is the reason to skip
  /** Devices queue work: each rep ends with a read so the timing covers submit and completion. */
  readBack: boolean;
  runs(c: Case, ctx: BenchContext): boolean;
}

async function cpu(blas: boolean): Promise<Backend | string> {
  try {
    const { createCpuBackend } = await import("../lib/backend/cpu/mod.ts");
    const be = createCpuBackend({ blas });
    if (blas && be.matmulKernel.startsWith("typescript")) return `no BLAS: ${be.matmulKernel}`;
    return be;
  } catch (e) {
    return `CPU backend failed to load: ${reason(e)}`;
  }
}

async function webgpu(): Promise<Backend | string> {
  // Built at run time so `deno check` and the bench still work while the WebGPU backend does not exist yet.
  const url = new URL("../lib/backend/webgpu/mod.ts", import.meta.url).href;
  try {
    const mod = await import(url);
    if (typeof mod.createWebGpuBackend !== "function") return `${url} has no createWebGpuBackend export`;
    const timeout = new Promise<string>((r) => setTimeout(() => r("createWebGpuBackend() took over 60 s"), 60_000));
    return await Promise.race([mod.createWebGpuBackend() as Promise<Backend>, timeout]);
  } catch (e) {
    return `WebGPU backend unavailable: ${reason(e)}`;
  }
}

const OURS: Column[] = [
  { name: "cpu-blas", open: () => cpu(true), readBack: false, runs: () => true },
  { name: "cpu-ts", open: () => cpu(false), readBack: false, runs: () => true },
  { name: "webgpu", open: webgpu, readBack: true, runs: (c, ctx) => ctx.full || flop(c) <= WEBGPU_MAX_FLOP },
];

function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (((i * 2654435761 + seed) >>> 0) % 1000) / 1000 - 0.5;
  return out;
}

/** Median GFLOP/s of one product on one backend, timing dispatches (and the closing read when `readBack`). */
async function timeCase(be: Backend, [m, n, k]: Case, readBack: boolean, ctx: BenchContext) {
  const [a, b, c] = [be.alloc(m * k, "f32"), be.alloc(k * n, "f32"), be.alloc(m * n, "f32")];
  be.write(a, values(m * k, 1));
  be.write(b, values(k * n, 2));
  const attrs: OpAttrs["matmul"] = {
    batch: 1,
    m,
    n,
    k,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  const t = await measure(async (iters) => {
    for (let i = 0; i < iters; i++) be.dispatch("matmul", [c], [a, b], attrs);
    if (readBack) await be.read(c);
  }, ctx);
  for (const x of [a, b, c]) be.free(x);
  return { gflops: flop([m, n, k]) / t.medianMs / 1e6, ...t };
}

/** The matmul group: registered in `main.ts`. */
export const matmulGroup: BenchGroup = {
  name: "matmul",
  async run(ctx): Promise<GroupResult> {
    const rows: Row[] = CASES.map((c) => ({ label: label(c), values: {}, detail: { mnk: c } }));
    const notes: string[] = [];
    ctx.log("matmul: torch peer");
    const peer = await runTorchPeer([
      "matmul",
      `--threads=${ctx.threads}`,
      `--cases=${CASES.map((c) => c.join("x")).join(",")}`,
      ...(ctx.quick ? ["--quick"] : []),
    ]);
    if ("skip" in peer) notes.push(`torch skipped: ${peer.skip}`);
    else {
      const d = peer.data;
      notes.push(
        `torch ${d.version}: ${d.threads} threads, OpenBLAS threads ${d.openblasThreads ?? "n/a"}, own kernels ${
          d.cpuCapability ?? "?"
        }`,
      );
      d.results.forEach((r: any, i: number) => (rows[i].values.torch = r.gflops, rows[i].detail!.torch = r));
    }
    const blas = loadBlas();
    notes.push(
      "sgemm" in blas ? `cpu-blas: ${blas.library}, ${blas.threads ?? "?"} threads` : `cpu-blas: ${blas.error}`,
    );
    for (const col of OURS) {
      ctx.log(`matmul: ${col.name}`);
      const be = await col.open();
      if (typeof be === "string") {
        notes.push(`${col.name} skipped: ${be}`);
        rows.forEach((r) => (r.values[col.name] = null));
        continue;
      }
      for (const [i, c] of CASES.entries()) {
        if (!col.runs(c, ctx)) {
          rows[i].values[col.name] = null;
          continue;
        }
        const r = await timeCase(be, c, col.readBack, ctx);
        ctx.log(`  ${label(c)}: ${r.gflops.toFixed(2)} GFLOP/s (${r.reps}×${r.iters})`);
        rows[i].values[col.name] = r.gflops;
        rows[i].detail![col.name] = r;
      }
      if (CASES.some((c) => !col.runs(c, ctx))) {
        notes.push(`${col.name}: cases above ${WEBGPU_MAX_FLOP / 1e9} GFLOP run only with --full`);
      }
      be.destroy();
    }
    return {
      name: "matmul",
      unit: "GFLOP/s",
      columns: COLUMNS,
      peer: "torch" in rows[0].values ? "torch" : null,
      rows,
      notes,
    };
  },
};
