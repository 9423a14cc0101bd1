/**
 * Training-step throughput (tokens/s): forward + backward + AdamW of the NormFormer-family LM on a fixed batch
 * (see step.ts), Pre-LN against NormFormer so NormFormer's overhead shows, ours on `cpu` and `webgpu` against
 * the PyTorch peer running bench/torch_model.py with the same shapes, AdamW hyperparameters, fp32 and threads.
 *
 * Shapes: the `small` preset (L=6, C=128, H=4, F=512, T=128, B=16, V=256); a 12-layer C=128 byte-level model
 * (t1's width at small's T and B); `tiny` (L=2, C=64, T=64, B=8), the shape the emulated WebGPU adapter finishes
 * in the bench's time (it runs the larger ones with --full).
 * Legend: L layers, C width, H heads, F FFN width, T time, B batch, V vocabulary.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import { resolveConfig, type TrainConfig } from "../lib/train/config.ts";
import { openCpu, openWebGpu, peerNote, reason } from "./backends.ts";
import { type BenchContext, type BenchGroup, type GroupResult, measure, type Row, type Runner } from "./harness.ts";
import { makeTrainStep } from "./step.ts";

/** A model shape: config layers for `resolveConfig`, and whether the emulated WebGPU runs it without --full. */
interface Shape {
  name: string;
  layers: Record<string, unknown>;
  webgpu: boolean;
}

const SHAPES: Shape[] = [
  { name: "small", layers: { preset: "small" }, webgpu: false },
  { name: "12L C128", layers: { preset: "small", layers: 12 }, webgpu: false },
  { name: "tiny", layers: { preset: "tiny" }, webgpu: true },
];
const ARCHS = ["preln", "normformer"] as const;
const COLUMNS = ["torch", "cpu", "webgpu"];

/** The peer's parameters for the same model and batch. */
function torchParams(cfg: TrainConfig): Record<string, unknown> {
  const { vocabSize: vocab, dModel: d, heads, dFF: dff, layers, contextLength: context, batchSize: batch } = cfg;
  return { vocab, d, heads, dff, layers, context, batch, arch: cfg.arch };
}

function ourRunner(name: string, be: Backend, cfg: TrainConfig): Runner & { free(): void } {
  const step = makeTrainStep(be, cfg);
  return {
    name,
    run: async (iters) => {
      const t = performance.now();
      for (let i = 0; i < iters; i++) await step.run();
      return performance.now() - t;
    },
    free: () => step.dispose(),
  };
}

/** "+4.1%": how much longer a NormFormer step takes than a Pre-LN one (from tokens/s). */
function overhead(pre: number | null, nf: number | null): string {
  return pre && nf ? `${pre / nf - 1 >= 0 ? "+" : ""}${((pre / nf - 1) * 100).toFixed(1)}%` : "—";
}

/** The training-step group: registered in `main.ts`. */
export const trainStepGroup: BenchGroup = {
  name: "train_step",
  async run(ctx: BenchContext): Promise<GroupResult> {
    const notes: string[] = [];
    const peer = await ctx.peer();
    notes.push(typeof peer === "string" ? `torch skipped: ${peer}` : peerNote(peer.info));
    const ours = new Map<string, Backend>();
    for (const [name, open] of [["cpu", openCpu], ["webgpu", openWebGpu]] as const) {
      const be = await open();
      if (typeof be === "string") notes.push(`${name} skipped: ${be}`);
      else ours.set(name, be);
    }
    const rows: Row[] = [];
    for (const shape of SHAPES) {
      // Both archs of a shape in one measurement, their reps interleaved, so load that comes and goes cannot
      // make either look faster: the NormFormer overhead is the point of this group.
      ctx.log(`train_step ${shape.name}`);
      const runners: (Runner & { free?(): void })[] = [];
      const cfgs = ARCHS.map((arch) => resolveConfig([{ ...shape.layers, arch }]));
      for (const cfg of cfgs) {
        const label = `${shape.name} ${cfg.arch}`;
        if (typeof peer !== "string") {
          runners.push(await peer.runner(`torch ${cfg.arch}`, "trainStep", torchParams(cfg), cfg.arch));
        }
        for (const [name, be] of ours) {
          if (name === "webgpu" && !shape.webgpu && !ctx.full) continue;
          try {
            runners.push(ourRunner(`${name} ${cfg.arch}`, be, cfg));
          } catch (e) {
            notes.push(`${name} failed on ${label}: ${reason(e)}`);
          }
        }
      }
      const timings = await measure(runners, ctx);
      runners.forEach((r) => r.free?.());
      if (typeof peer !== "string") { for (const arch of ARCHS) await peer.drop(arch); }
      for (const cfg of cfgs) {
        const tokens = cfg.batchSize * cfg.contextLength;
        const row: Row = {
          label: `${shape.name} ${cfg.arch}`,
          values: {},
          best: {},
          detail: { config: cfg, tokensPerStep: tokens },
        };
        for (const name of COLUMNS) {
          const t = timings.get(`${name} ${cfg.arch}`);
          row.values[name] = t ? tokens / t.medianMs * 1e3 : null;
          row.best![name] = t ? tokens / t.minMs * 1e3 : null;
          if (!t) continue;
          row.detail![name] = t;
          ctx.log(`  ${name} ${cfg.arch}: ${t.medianMs.toFixed(1)} ms/step (${t.reps} reps × ${t.iters})`);
        }
        rows.push(row);
      }
    }
    for (const be of ours.values()) be.destroy();
    for (const shape of SHAPES) {
      const pre = rows.find((r) => r.label === `${shape.name} preln`)!,
        nf = rows.find((r) => r.label === `${shape.name} normformer`)!;
      const parts = COLUMNS.map((c) =>
        `${c} ${overhead(pre.values[c], nf.values[c])} (best reps ${overhead(pre.best![c], nf.best![c])})`
      );
      notes.push(`NormFormer step time vs Pre-LN, ${shape.name}: ${parts.join(", ")}`);
    }
    notes.push(`B·T tokens per step: small and 12L C128 2048, tiny 512; webgpu runs the larger shapes with --full`);
    const peerName = typeof peer === "string" ? null : "torch";
    return {
      name: "train_step",
      unit: "tokens/s",
      columns: COLUMNS,
      peer: peerName,
      rows,
      notes,
      best: ["cpu", "webgpu"],
    };
  },
};
