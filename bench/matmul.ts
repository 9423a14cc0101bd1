/**
 * Matrix product GFLOP/s: the CPU backend with BLAS, the CPU backend with the TypeScript kernel, and the WebGPU
 * backend, each called through the generic `Backend` interface (alloc/write/dispatch("matmul")/read), against
 * PyTorch CPU (`torch.mm(a, b, out=c)`), with TensorFlow.js's cpu, wasm and webgpu backends (`tf.matMul`) as
 * extra columns, their reps interleaved case by case. Extra ratios: webgpu/tfjs-webgpu, cpu-blas/tfjs-wasm.
 *
 * Legend: M N K matmul dims; C (M, N) = A (M, K) · B (K, N).
 * @module
 */
import type { Backend, OpAttrs } from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/cpu/blas.ts";
import { openCpu, openWebGpu, peerNote, reason, values } from "./backends.ts";
import { TFJS_COLUMNS, type TfjsColumn, type TfjsPeer } from "./tfjs_peer.ts";
import {
  type BenchContext,
  type BenchGroup,
  type GroupResult,
  localRunner,
  measure,
  type Row,
  type Runner,
} from "./harness.ts";

/** [M, N, K]. */
type Case = [number, number, number];

const CASES: Case[] = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [4096, 1024, 256]];
/** The emulated WebGPU adapter runs ~2–20 GFLOP/s: above this many FLOPs per product, only with --full. */
const WEBGPU_MAX_FLOP = 2.2e9;
/** tfjs-cpu is plain JavaScript (~1 GFLOP/s): above this many FLOPs, only with --full. */
const TFJS_CPU_MAX_FLOP = 3e8;
const COLUMNS = ["torch", "cpu-blas", "cpu-ts", "webgpu", ...TFJS_COLUMNS];

const label = ([m, n, k]: Case) => (m === n && n === k ? `${m}³` : `(${m}×${k})·(${k}×${n})`);
const flop = ([m, n, k]: Case) => 2 * m * n * k;
/** Which cases each tfjs column runs. */
const TFJS_RUNS: Record<TfjsColumn, (c: Case, ctx: BenchContext) => boolean> = {
  "tfjs-cpu": (c, ctx) => ctx.full || flop(c) <= TFJS_CPU_MAX_FLOP,
  "tfjs-wasm": () => true,
  "tfjs-webgpu": (c, ctx) => ctx.full || flop(c) <= WEBGPU_MAX_FLOP,
};

/** A column: how to get its backend, whether a read must close each rep, and which cases it runs. */
interface Column {
  name: string;
  open(): Promise<Backend | string>; // a string is the reason to skip
  /** Devices queue work: each rep ends with a read so the timing covers submit and completion. */
  readBack: boolean;
  runs(c: Case, ctx: BenchContext): boolean;
}

const OURS: Column[] = [
  { name: "cpu-blas", open: () => openCpu(true), readBack: false, runs: () => true },
  { name: "cpu-ts", open: () => openCpu(false), readBack: false, runs: () => true },
  { name: "webgpu", open: openWebGpu, readBack: true, runs: (c, ctx) => ctx.full || flop(c) <= WEBGPU_MAX_FLOP },
];

/** A runner for one product on one backend: dispatches, then (when `readBack`) a read that waits for them. */
function backendRunner(name: string, be: Backend, [m, n, k]: Case, readBack: boolean): Runner & { free(): void } {
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
  const runner = localRunner(name, async (iters) => {
    for (let i = 0; i < iters; i++) be.dispatch("matmul", [c], [a, b], attrs);
    if (readBack) await be.read(c);
  });
  return { ...runner, free: () => [a, b, c].forEach((x) => be.free(x)) };
}

/** Opens our backends; a column that cannot open gets a note instead. */
async function openColumns(notes: string[]): Promise<Map<Column, Backend>> {
  const open = new Map<Column, Backend>();
  for (const col of OURS) {
    const be = await col.open();
    if (typeof be === "string") notes.push(`${col.name} skipped: ${be}`);
    else open.set(col, be);
  }
  return open;
}

/** The matmul group: registered in `main.ts`. */
export const matmulGroup: BenchGroup = {
  name: "matmul",
  async run(ctx: BenchContext): Promise<GroupResult> {
    const notes: string[] = [];
    const peer = await ctx.peer();
    if (typeof peer === "string") notes.push(`torch skipped: ${peer}`);
    else notes.push(peerNote(peer.info));
    const blas = loadBlas();
    notes.push(
      "sgemm" in blas ? `cpu-blas: ${blas.library}, ${blas.threads ?? "?"} threads` : `cpu-blas: ${blas.error}`,
    );
    const open = await openColumns(notes);
    const tfjs = new Map<TfjsColumn, TfjsPeer>();
    for (const col of TFJS_COLUMNS) {
      const t = await ctx.tfjs(col);
      if (typeof t === "string") notes.push(`${col} skipped: ${t}`);
      else tfjs.set(col, t);
    }
    const rows: Row[] = [];
    for (const c of CASES) {
      ctx.log(`matmul ${label(c)}`);
      const runners: (Runner & { free?(): void })[] = [];
      if (typeof peer !== "string") runners.push(await peer.runner("torch", "matmul", { m: c[0], n: c[1], k: c[2] }));
      for (const [col, be] of open) {
        if (!col.runs(c, ctx)) continue;
        const r = backendRunner(col.name, be, c, col.readBack);
        try {
          await r.run(1); // a backend that cannot run this product loses its column, not the whole bench
          runners.push(r);
        } catch (e) {
          notes.push(`${col.name} failed on ${label(c)}, dropped: ${reason(e)}`);
          open.delete(col);
          for (const release of [() => r.free(), () => be.destroy()]) {
            try {
              release();
            } catch { /* already reported the failure that matters */ }
          }
        }
      }
      for (const [col, t] of tfjs) {
        if (!TFJS_RUNS[col](c, ctx)) continue;
        let r: (Runner & { free(): void }) | undefined;
        try {
          r = await t.matmul(c[0], c[1], c[2]);
          await r.run(1);
          runners.push(r);
        } catch (e) {
          notes.push(`${col} failed on ${label(c)}: ${reason(e)}`);
          r?.free();
        }
      }
      const timings = await measure(runners, ctx);
      runners.forEach((r) => r.free?.());
      const row: Row = { label: label(c), values: {}, best: {}, detail: { mnk: c } };
      for (const name of COLUMNS) {
        const t = timings.get(name);
        row.values[name] = t ? flop(c) / t.medianMs / 1e6 : null;
        row.best![name] = t ? flop(c) / t.minMs / 1e6 : null;
        if (!t) continue;
        row.detail![name] = t;
        ctx.log(`  ${name}: ${row.values[name]!.toFixed(2)} GFLOP/s (${t.reps} reps × ${t.iters})`);
      }
      rows.push(row);
    }
    for (const [col, be] of open) {
      if (CASES.some((c) => !col.runs(c, ctx))) {
        notes.push(`${col.name}: cases over ${WEBGPU_MAX_FLOP / 1e9} GFLOP need --full`);
      }
      be.destroy();
    }
    for (const [col, t] of tfjs) {
      notes.push(t.describe());
      if (CASES.some((c) => !TFJS_RUNS[col](c, ctx))) notes.push(`${col}: the larger cases need --full`);
    }
    const peerName = typeof peer === "string" ? null : "torch";
    const compare: [string, string][] = [["webgpu", "tfjs-webgpu"], ["cpu-blas", "tfjs-wasm"]];
    return {
      name: "matmul",
      unit: "GFLOP/s",
      columns: COLUMNS,
      peer: peerName,
      rows,
      notes,
      compare,
      best: ["cpu-blas"],
    };
  },
};
