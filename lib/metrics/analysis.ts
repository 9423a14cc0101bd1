/**
 * The paper's analyses as pure functions of run records (NORMFORMER.md (c), (e)): gradient-norm profiles by
 * layer, learned-scale medians, compute to reach a perplexity, the LR-ramp explosion step, and seed statistics.
 * @module
 */
import type { EvalRecord, RunRecord, TrainRecord } from "./records.ts";

const trainOf = (rs: RunRecord[]) => rs.filter((r): r is TrainRecord => r.kind === "train");
const evalOf = (rs: RunRecord[]) => rs.filter((r): r is EvalRecord => r.kind === "eval");

/** Trailing moving average over `window` points (shorter at the start). */
export function movingAverage(values: readonly number[], window: number): number[] {
  if (!(window >= 1)) throw new Error(`Cannot smooth with window ${window}: expected ≥ 1`);
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** Per layer, the series of one parameter's gradient norm: `{ step[], byLayer: number[][] }` (L1 or L2). */
export function gradSeries(records: RunRecord[], param = "fc2.weight", norm: "l1" | "l2" = "l1") {
  const steps: number[] = [];
  const byLayer: number[][] = [];
  for (const r of trainOf(records)) {
    if (!r.grads) continue;
    const layers = Object.keys(r.grads).map((n) => n.match(/^decoder\.layers\.(\d+)\.(.+)$/)).filter((m) =>
      m && m[2] === param
    );
    if (layers.length === 0) continue;
    steps.push(r.step);
    for (const m of layers) {
      const i = Number(m![1]);
      (byLayer[i] ??= []).push(r.grads[m![0]][norm === "l1" ? 0 : 1]);
    }
  }
  if (steps.length === 0) throw new Error(`Cannot find gradient norms of "${param}": train with gradStats=true`);
  return { steps, byLayer };
}

/** Ratio of the first to the last layer's smoothed gradient norm at the final step, and the across-layer CV. */
export function gradMismatch(records: RunRecord[], param = "fc2.weight", smooth = 20) {
  const { steps, byLayer } = gradSeries(records, param);
  const last = byLayer.map((s) => movingAverage(s, smooth).at(-1)!);
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  const sd = Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / last.length);
  return { step: steps.at(-1)!, ratio: last[0] / last[last.length - 1], cv: sd / mean, finalByLayer: last };
}

/** Per-layer medians of one learned-scale kind from the last evaluation that has scales. */
export function scaleMedians(
  records: RunRecord[],
  kind: "ffnNorm" | "postAttnNorm" | "headScale" | "residScale",
): number[] {
  const suffix = {
    ffnNorm: "ffn_layernorm.weight",
    postAttnNorm: "attn_ln.weight",
    headScale: "c_attn",
    residScale: "w_resid",
  }[kind];
  const last = evalOf(records).filter((r) => r.scales).at(-1);
  if (!last) throw new Error("Cannot find learned scales: no evaluation record has them (is this a NormFormer run?)");
  const out: number[] = [];
  for (const [name, s] of Object.entries(last.scales!)) {
    const m = name.match(/^decoder\.layers\.(\d+)\.(.+)$/);
    if (m && m[2] === suffix) out[Number(m[1])] = s.median;
  }
  return out;
}

/** Final validation loss of a run (the last evaluation). */
export function finalValidLoss(records: RunRecord[]): number {
  const last = evalOf(records).at(-1);
  if (!last) throw new Error("Cannot find a validation loss: the run has no evaluation record");
  return last.loss;
}

/**
 * The compute (x: "flops", "tokens", "step" or "time") at which a run's validation loss first reaches `target`,
 * linearly interpolated between evaluations; null if it never does.
 */
export function computeToReach(
  records: RunRecord[],
  target: number,
  x: "flops" | "tokens" | "step" | "time" = "flops",
): number | null {
  const ev = evalOf(records);
  for (let i = 0; i < ev.length; i++) {
    if (ev[i].loss <= target) {
      if (i === 0) return ev[0][x];
      const a = ev[i - 1], b = ev[i];
      const f = (a.loss - target) / (a.loss - b.loss);
      return a[x] + f * (b[x] - a[x]);
    }
  }
  return null;
}

/**
 * NORMFORMER.md (e) experiment 2: saving = 1 − (compute at which `candidate` reaches the baseline's final loss) /
 * (the baseline's total compute). Null when the candidate never reaches it.
 */
export function computeSaving(
  baseline: RunRecord[],
  candidate: RunRecord[],
  x: "flops" | "time" = "flops",
): number | null {
  const target = finalValidLoss(baseline);
  const reach = computeToReach(candidate, target, x);
  const total = evalOf(baseline).at(-1)![x];
  return reach === null ? null : 1 - reach / total;
}

/**
 * NORMFORMER.md (c.3)/(e) experiment 4: the first step whose loss is non-finite or exceeds `factor` × the running
 * minimum (after `after` steps); null if the run never explodes. A run that stopped on a non-finite loss
 * explodes at the step after its last record.
 */
export function explosionStep(records: RunRecord[], factor = 1.5, after = 20, stoppedNonFinite = false): number | null {
  let min = Infinity;
  const tr = trainOf(records);
  for (const r of tr) {
    if (!Number.isFinite(r.loss)) return r.step;
    if (r.step > after && r.loss > factor * min) return r.step;
    min = Math.min(min, r.loss);
  }
  return stoppedNonFinite && tr.length ? tr.at(-1)!.step + 1 : null;
}

/** Mean and sample standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) throw new Error("Cannot average an empty list");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("Cannot take the median of an empty list");
  const v = [...values].sort((a, b) => a - b), m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
