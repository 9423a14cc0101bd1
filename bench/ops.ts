/**
 * The non-matmul ops of a training step, forward + backward as the autograd runs them, on the `cpu` and
 * `webgpu` backends through the generic `Backend` interface (alloc/write/dispatch/read), against PyTorch CPU
 * doing the same op with autograd (`torch.autograd.grad`), with TensorFlow.js columns where tfjs has the op
 * (LayerNorm from tf ops, masked softmax). Rate: millions of input elements per second (higher is better).
 *
 * Cases: LayerNorm at the small preset's B·T = 2048 rows, width C = 128 and the FFN width 512 (NormFormer's
 * ffnNorm); exact GELU and a bias add (y = x + b over rows; backward: dx is dy passed on, db the column sums) at
 * the FFN's (B·T, F) = 2048×512; the causal softmax over attention scores, our fused `softmax` with `causalTq`
 * against PyTorch's masked_fill + softmax (small's B·H = 64, T = 128, and t1's B·H = 128, T = 256); cross-entropy
 * over 2048 rows for the byte vocabulary (256) and GPT-2's (50257); the AdamW update of 1M parameters (fused here,
 * torch.optim.AdamW there: same hyperparameters, PyTorch's ε placement).
 * Legend: R rows, C columns, T time, V vocabulary, N elements.
 * @module
 */
import type { Backend, DeviceBuffer } from "../lib/backend/backend.ts";
import { openCpu, openWebGpu, peerNote, reason, values } from "./backends.ts";
import { type BenchContext, type BenchGroup, type GroupResult, measure, type Row, type Runner } from "./harness.ts";
import { TFJS_COLUMNS, type TfjsColumn, type TfjsPeer } from "./tfjs_peer.ts";

/** Buffers of one case on one backend and one iteration's dispatches. */
interface Setup {
  bufs: DeviceBuffer[];
  once(): void;
}

/** One row of the table. */
interface OpCase {
  label: string;
  /** Input elements per iteration (the rate's numerator). */
  elements: number;
  /** The PyTorch peer's group and parameters. */
  torch: [string, Record<string, unknown>];
  /** Allocate and fill inputs on `be`; `once()` dispatches one forward + backward. */
  setup(be: Backend): Setup;
  /** The tfjs equivalent, where tfjs has the op. */
  tfjs?(t: TfjsPeer): Promise<Runner & { free(): void }>;
  /** Too slow for the emulated WebGPU adapter and tfjs-cpu within the bench's time: only with --full. */
  big?: boolean;
}

const COLUMNS = ["torch", "cpu", "webgpu", ...TFJS_COLUMNS];

function f32(be: Backend, n: number, seed?: number, scale = 1): DeviceBuffer {
  const b = be.alloc(n, "f32");
  if (seed !== undefined) be.write(b, values(n, seed).map((v) => v * scale));
  return b;
}

function filled(be: Backend, n: number, value: number): DeviceBuffer {
  const b = be.alloc(n, "f32");
  be.dispatch("fill", [b], [], { value });
  return b;
}

const layerNorm = (rows: number, cols: number): OpCase => ({
  label: `layerNorm ${rows}×${cols}`,
  elements: rows * cols,
  torch: ["layerNorm", { rows, cols }],
  setup(be) {
    const [x, dy] = [f32(be, rows * cols, 1), f32(be, rows * cols, 2)];
    const [g, b] = [filled(be, cols, 1), filled(be, cols, 0)];
    const [y, mean, rstd, dx, dg, db] = [rows * cols, rows, rows, rows * cols, cols, cols].map((n) => f32(be, n));
    return {
      bufs: [x, dy, g, b, y, mean, rstd, dx, dg, db],
      once() {
        be.dispatch("layerNorm", [y, mean, rstd], [x, g, b], { rows, cols, eps: 1e-5 });
        be.dispatch("layerNormBackward", [dx, dg, db], [dy, x, g, mean, rstd], { rows, cols });
      },
    };
  },
  tfjs: (t) => t.layerNorm(rows, cols),
});

/** GELU's ops as the autograd runs them: `unary` gelu, then its one-pass backward `geluBackward`(x, dy). */
const gelu = (rows: number, cols: number): OpCase => ({
  label: `gelu ${rows}×${cols}`,
  elements: rows * cols,
  torch: ["gelu", { rows, cols }],
  setup(be) {
    const n = rows * cols, strides = [cols, 1];
    const [x, dy, y, dx] = [f32(be, n, 1, 6), f32(be, n, 2), f32(be, n), f32(be, n)];
    return {
      bufs: [x, dy, y, dx],
      once() {
        be.dispatch("unary", [y], [x], { fn: "gelu" });
        be.dispatch("binary", [dx], [x, dy], {
          fn: "geluBackward",
          shape: [rows, cols],
          aStrides: strides,
          bStrides: strides,
        });
      },
    };
  },
});

/**
 * A Linear layer's bias as the autograd runs it: a broadcasting `binary` add, and in backward `sumTo`'s one
 * `reduce` over the rows for db; dx is dy itself (a view, no kernel), as in PyTorch.
 */
const biasAdd = (rows: number, cols: number): OpCase => ({
  label: `bias add ${rows}×${cols}`,
  elements: rows * cols,
  torch: ["biasAdd", { rows, cols }],
  setup(be) {
    const n = rows * cols;
    const [x, b, dy, y, db] = [f32(be, n, 1), f32(be, cols, 3), f32(be, n, 2), f32(be, n), f32(be, cols)];
    return {
      bufs: [x, b, dy, y, db],
      once() {
        be.dispatch("binary", [y], [x, b], { fn: "add", shape: [rows, cols], aStrides: [cols, 1], bStrides: [0, 1] });
        be.dispatch("reduce", [db], [dy], { fn: "sum", outer: 1, size: rows, inner: cols });
      },
    };
  },
});

/** The attention probabilities' ops as the autograd runs them: causal softmax (mask fused) and its backward. */
const attention = (rows: number, t: number, big = false): OpCase => ({
  label: `causal softmax ${rows}×${t}×${t}`,
  elements: rows * t * t,
  torch: ["attentionSoftmax", { rows, t }],
  big,
  setup(be) {
    const n = rows * t * t;
    const [s, dp] = [f32(be, n, 1, 8), f32(be, n, 2)];
    const [p, ds] = [n, n].map((k) => f32(be, k));
    return {
      bufs: [s, dp, p, ds],
      once() {
        be.dispatch("softmax", [p], [s], { rows: rows * t, cols: t, causalTq: t });
        be.dispatch("softmaxBackward", [ds], [p, dp], { rows: rows * t, cols: t });
      },
    };
  },
  tfjs: (peer) => peer.attentionSoftmax(rows, t),
});

const crossEntropy = (rows: number, cols: number, big = false): OpCase => ({
  label: `crossEntropy ${rows}×${cols}`,
  elements: rows * cols,
  torch: ["crossEntropy", { rows, cols }],
  big,
  setup(be) {
    const logits = f32(be, rows * cols, 1, 4);
    const targets = be.alloc(rows, "i32");
    be.write(targets, Int32Array.from({ length: rows }, (_, i) => Math.imul(i, 2654435761) >>> 0).map((v) => v % cols));
    const dLoss = filled(be, rows, 1 / rows); // the mean's backward
    const [loss, lse, dLogits] = [rows, rows, rows * cols].map((n) => f32(be, n));
    return {
      bufs: [logits, targets, dLoss, loss, lse, dLogits],
      once() {
        be.dispatch("crossEntropy", [loss, lse], [logits, targets], { rows, cols });
        be.dispatch("crossEntropyBackward", [dLogits], [logits, targets, lse, dLoss], { rows, cols });
      },
    };
  },
});

const adamw = (size: number): OpCase => ({
  label: `adamw ${size / 1e6}M`,
  elements: size,
  torch: ["adamw", { size }],
  setup(be) {
    const [p, g, m, v] = [f32(be, size, 1), f32(be, size, 2, 1e-3), filled(be, size, 0), filled(be, size, 0)];
    let step = 0;
    const attrs = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01 };
    return {
      bufs: [p, g, m, v],
      once: () => be.dispatch("adamw", [p, m, v], [p, m, v, g], { ...attrs, step: ++step }),
    };
  },
});

const CASES: OpCase[] = [
  layerNorm(2048, 128),
  layerNorm(2048, 512),
  gelu(2048, 512),
  biasAdd(2048, 512),
  attention(64, 128),
  attention(128, 256, true),
  crossEntropy(2048, 256),
  crossEntropy(2048, 50257, true),
  adamw(1 << 20),
];

/**
 * A runner of `c` on `be`: `iters` iterations, then (on a device) a one-element fill read back, which waits for
 * all queued work without timing a large transfer.
 */
function ourRunner(name: string, be: Backend, c: OpCase, readBack: boolean): Runner & { free(): void } {
  const s = c.setup(be);
  const sync = be.alloc(1, "f32");
  return {
    name,
    run: async (iters) => {
      const t = performance.now();
      for (let i = 0; i < iters; i++) s.once();
      if (readBack) {
        be.dispatch("fill", [sync], [], { value: iters });
        await be.read(sync);
      }
      return performance.now() - t;
    },
    free: () => [...s.bufs, sync].forEach((b) => be.free(b)),
  };
}

/** The ops group: registered in `main.ts`. */
export const opsGroup: BenchGroup = {
  name: "ops",
  async run(ctx: BenchContext): Promise<GroupResult> {
    const notes: string[] = [];
    const peer = await ctx.peer();
    notes.push(typeof peer === "string" ? `torch skipped: ${peer}` : peerNote(peer.info));
    const ours = new Map<string, { be: Backend; readBack: boolean }>();
    for (const [name, open, readBack] of [["cpu", openCpu, false], ["webgpu", openWebGpu, true]] as const) {
      const be = await open();
      if (typeof be === "string") notes.push(`${name} skipped: ${be}`);
      else ours.set(name, { be, readBack });
    }
    const tfjs = new Map<TfjsColumn, TfjsPeer>();
    for (const col of TFJS_COLUMNS) {
      const t = await ctx.tfjs(col);
      if (typeof t === "string") notes.push(`${col} skipped: ${t}`);
      else tfjs.set(col, t);
    }
    const slow = (col: string) => col === "webgpu" || col === "tfjs-webgpu" || col === "tfjs-cpu";
    const rows: Row[] = [];
    for (const c of CASES) {
      ctx.log(`ops ${c.label}`);
      const runners: (Runner & { free?(): void })[] = [];
      if (typeof peer !== "string") runners.push(await peer.runner("torch", ...c.torch));
      for (const [name, { be, readBack }] of ours) {
        if (c.big && slow(name) && !ctx.full) continue;
        let r: (Runner & { free(): void }) | undefined;
        try {
          r = ourRunner(name, be, c, readBack);
          if (readBack) await r.run(1); // a device that cannot run this case loses the cell, not the whole bench
          runners.push(r);
        } catch (e) {
          notes.push(`${name} failed on ${c.label}: ${reason(e)}`);
          try {
            r?.free();
          } catch { /* the failure above is the one worth reporting */ }
        }
      }
      for (const [col, t] of tfjs) {
        if (!c.tfjs || (c.big && slow(col) && !ctx.full)) continue;
        let r: (Runner & { free(): void }) | undefined;
        try {
          r = await c.tfjs(t);
          await r.run(1);
          runners.push(r);
        } catch (e) {
          notes.push(`${col} failed on ${c.label}: ${reason(e)}`);
          r?.free();
        }
      }
      const timings = await measure(runners, ctx);
      runners.forEach((r) => r.free?.());
      const row: Row = { label: c.label, values: {}, best: {}, detail: { elements: c.elements } };
      for (const name of COLUMNS) {
        const t = timings.get(name);
        row.values[name] = t ? c.elements / t.medianMs / 1e3 : null;
        row.best![name] = t ? c.elements / t.minMs / 1e3 : null;
        if (!t) continue;
        row.detail![name] = t;
        ctx.log(`  ${name}: ${t.medianMs.toFixed(3)} ms (${t.reps} reps × ${t.iters})`);
      }
      rows.push(row);
    }
    for (const { be } of ours.values()) be.destroy();
    for (const t of tfjs.values()) notes.push(t.describe());
    notes.push(
      "tfjs: no GELU, bias add, fused cross-entropy or AdamW compared; crossEntropy 2048×50257 and causal softmax " +
        "128×256×256 on webgpu/tfjs-cpu/tfjs-webgpu: --full",
    );
    notes.push("causal softmax: ours the fused softmax with causalTq; torch masked_fill(-inf) then softmax");
    notes.push("adamw: torch.optim.AdamW (single-tensor loop); ours one fused dispatch");
    const compare: [string, string][] = [["webgpu", "tfjs-webgpu"], ["cpu", "tfjs-wasm"]];
    const peerName = typeof peer === "string" ? null : "torch";
    return {
      name: "ops",
      unit: "M elem/s",
      columns: COLUMNS,
      peer: peerName,
      rows,
      notes,
      compare,
      best: ["cpu", "webgpu"],
    };
  },
};
