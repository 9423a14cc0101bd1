/** Synthetic run records for the plot tests: shaped like real metrics.jsonl lines, cheap to make. */
import { type EvalRecord, type RunRecord, summarize, type TrainRecord } from "../../lib/metrics/records.ts";
import type { Run } from "../../lib/plot/mod.ts";

/** The layer parameter kinds a NormFormer layer records grads for. */
export const KINDS = [
  "self_attn.q_proj.weight",
  "self_attn.k_proj.weight",
  "self_attn.v_proj.weight",
  "self_attn.out_proj.weight",
  "self_attn.out_proj.bias",
  "c_attn",
  "attn_ln.weight",
  "fc1.weight",
  "fc2.weight",
  "ffn_layernorm.weight",
];

/** Options of `synthRun`. */
export interface SynthOptions {
  steps?: number;
  layers?: number;
  evalEvery?: number;
  grads?: boolean;
  /** Grad magnitude grows with depth (Post-LN-like) instead of shrinking (Pre-LN-like). */
  deepGrows?: boolean;
}

/** A run whose loss decays, with per-layer grads and NormFormer scale summaries in each eval. */
export function synthRun(name: string, opts: SynthOptions = {}): Run {
  const { steps = 120, layers = 12, evalEvery = 40, grads = true, deepGrows = false } = opts;
  const records: RunRecord[] = [];
  const scalesAt = (step: number) => {
    const out: Record<string, ReturnType<typeof summarize>> = {};
    for (let l = 0; l < layers; l++) {
      const v = (base: number, n: number) => Array.from({ length: n }, (_, i) => base + 0.05 * Math.sin(i + l + step));
      out[`decoder.layers.${l}.ffn_layernorm.weight`] = summarize(v(0.2 + 0.06 * l, 32));
      out[`decoder.layers.${l}.attn_ln.weight`] = summarize(v(0.35, 16));
      out[`decoder.layers.${l}.c_attn`] = summarize(v(0.9, 4));
      out[`decoder.layers.${l}.w_resid`] = summarize(v(1, 16));
    }
    return out;
  };
  const evalAt = (step: number, loss: number): EvalRecord => ({
    kind: "eval",
    split: "valid",
    step,
    tokens: 512 * step,
    flops: 1e9 * step,
    time: 0.05 * step,
    loss,
    ppl: Math.exp(loss),
    bpb: loss / Math.LN2,
    scales: scalesAt(step),
  });
  records.push(evalAt(0, 5.6));
  for (let step = 1; step <= steps; step++) {
    const loss = 2 + 3.5 * Math.exp(-step / 40) + 0.05 * Math.sin(step);
    const r: TrainRecord = {
      kind: "train",
      step,
      tokens: 512 * step,
      flops: 1e9 * step,
      time: 0.05 * step,
      lr: 1e-3,
      loss,
      gradNorm: 1,
    };
    if (grads) {
      r.grads = {};
      for (let l = 0; l < layers; l++) {
        const depth = deepGrows ? (l + 1) / layers : (layers - l) / layers;
        for (const [k, kind] of KINDS.entries()) {
          const l1 = 100 * depth * (1 + k / 10) * Math.exp(-step / 200);
          r.grads[`decoder.layers.${l}.${kind}`] = [l1, l1 / 30];
        }
      }
      r.attnLogitMax = Array.from({ length: layers }, (_, l) => 3 + l);
    }
    records.push(r);
    if (step % evalEvery === 0) records.push(evalAt(step, loss + 0.1));
  }
  return { name, records };
}

/** An LR-ramp run: the loss falls, then blows up at `explodeAt` and turns NaN (recorded as skipped) after. */
export function rampRun(name: string, explodeAt: number, steps = 80): Run {
  const records: TrainRecord[] = [];
  for (let step = 1; step <= steps; step++) {
    const loss = step < explodeAt ? 5 - step / 50 : step < explodeAt + 5 ? 5 + 3 * (step - explodeAt + 1) ** 2 : NaN;
    records.push({
      kind: "train",
      step,
      tokens: 0,
      flops: 0,
      time: 0,
      lr: 5e-5 * step,
      loss,
      gradNorm: 1,
      ...(Number.isNaN(loss) ? { skipped: true } : {}),
    });
  }
  return { name, records };
}
