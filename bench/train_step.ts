/**
 * Training-step throughput (tokens/s): forward + backward + AdamW of the NormFormer-family LM on a fixed batch
 * (see step.ts), Pre-LN against NormFormer so NormFormer's overhead shows, ours on `cpu` and `webgpu` against
 * two PyTorch peers with the same shapes, AdamW hyperparameters, fp32 and threads: `torch-fairseq`
 * (bench/torch_model.py, our model op for op: separate q, k, v projections) and `torch-nanogpt`
 * (bench/torch_nanogpt.py: fused qkv Linear(C, 3C), nn.Embedding tied to the lm_head, multi-tensor AdamW). Both have
 * our parameter count (the peer refuses a model that has not). The `torch` column is the faster of the two in each
 * row (medians of the same run's interleaved reps; fastest reps likewise), and the ratios are ours / that.
 *
 * Shapes: the `small` preset (L=6, C=128, H=4, F=512, T=128, B=16, V=256); a 12-layer C=128 byte-level model
 * (t1's width at small's T and B); `tiny` (L=2, C=64, T=64, B=8), the shape the emulated WebGPU adapter finishes
 * in the bench's time (it runs the larger ones with --full).
 * Legend: L layers, C width, H heads, F FFN width, T time, B batch, V vocabulary.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import { resolveConfig, type TrainConfig } from "../lib/train/config.ts";
import { paramCount } from "../lib/model/sizing.ts";
import { TORCH_STYLES, torchParams } from "./peer.ts";
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
const MEASURED = ["torch-fairseq", "torch-nanogpt", "cpu", "webgpu"];
const COLUMNS = ["torch-fairseq", "torch-nanogpt", "torch", "cpu", "webgpu"];

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
    const paramNotes: string[] = [];
    for (const shape of SHAPES) {
      // Both archs of a shape in one measurement, their reps interleaved, so load that comes and goes cannot
      // make either look faster: the NormFormer overhead is the point of this group.
      ctx.log(`train_step ${shape.name}`);
      const runners: (Runner & { free?(): void })[] = [];
      const cfgs = ARCHS.map((arch) => resolveConfig([{ ...shape.layers, arch }]));
      for (const cfg of cfgs) {
        const label = `${shape.name} ${cfg.arch}`;
        for (const style of TORCH_STYLES) {
          if (typeof peer === "string") break;
          const name = `torch-${style} ${label}`;
          try {
            runners.push(await peer.runner(name, "trainStep", torchParams(cfg, style), name));
          } catch (e) {
            notes.push(`torch-${style} failed on ${label}: ${reason(e)}`);
          }
        }
        for (const [name, be] of ours) {
          if (name === "webgpu" && !shape.webgpu && !ctx.full) continue;
          try {
            runners.push(ourRunner(`${name} ${label}`, be, cfg));
          } catch (e) {
            notes.push(`${name} failed on ${label}: ${reason(e)}`);
          }
        }
      }
      const timings = await measure(runners, ctx);
      runners.forEach((r) => r.free?.());
      for (const cfg of cfgs) {
        const label = `${shape.name} ${cfg.arch}`;
        if (typeof peer !== "string") { for (const style of TORCH_STYLES) await peer.drop(`torch-${style} ${label}`); }
        const tokens = cfg.batchSize * cfg.contextLength;
        const row: Row = { label, values: {}, best: {}, detail: { config: cfg, tokensPerStep: tokens } };
        for (const name of MEASURED) {
          const t = timings.get(`${name} ${label}`);
          row.values[name] = t ? tokens / t.medianMs * 1e3 : null;
          row.best![name] = t ? tokens / t.minMs * 1e3 : null;
          if (!t) continue;
          row.detail![name] = t;
          ctx.log(`  ${name} ${cfg.arch}: ${t.medianMs.toFixed(1)} ms/step (${t.reps} reps × ${t.iters})`);
        }
        // The peer is the faster PyTorch model of this row (and, for the fastest-rep ratios, the faster fastest rep).
        const faster = (r: Record<string, number | null>) => {
          const v = TORCH_STYLES.map((s) => r[`torch-${s}`]).filter((x): x is number => x !== null);
          return v.length ? Math.max(...v) : null;
        };
        row.values.torch = faster(row.values);
        row.best!.torch = faster(row.best!);
        rows.push(row);
      }
      paramNotes.push(`${shape.name} ${cfgs.map((c) => `${c.arch} ${paramCount(c).total}`).join(", ")}`);
    }
    for (const be of ours.values()) be.destroy();
    for (const shape of SHAPES) {
      const pre = rows.find((r) => r.label === `${shape.name} preln`)!,
        nf = rows.find((r) => r.label === `${shape.name} normformer`)!;
      const parts = MEASURED.map((c) =>
        `${c} ${overhead(pre.values[c], nf.values[c])} (best reps ${overhead(pre.best![c], nf.best![c])})`
      );
      notes.push(`NormFormer step time vs Pre-LN, ${shape.name}: ${parts.join(", ")}`);
    }
    notes.push(`B·T tokens per step: small and 12L C128 2048, tiny 512; webgpu runs the larger shapes with --full`);
    notes.push(
      "torch = the faster of torch-fairseq (bench/torch_model.py) and torch-nanogpt (bench/torch_nanogpt.py) per row",
    );
    notes.push(`parameters, ours = each torch model's (checked by the peer): ${paramNotes.join("; ")}`);
    const peerName = typeof peer === "string" ? null : "torch";
    return {
      name: "train_step",
      unit: "tokens/s",
      columns: COLUMNS,
      peer: peerName,
      rows,
      notes,
      plain: ["torch-fairseq", "torch-nanogpt"],
      best: ["cpu", "webgpu"],
    };
  },
};
