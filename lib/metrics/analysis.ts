/**
 * The paper's analyses as pure functions of run records (NORMFORMER.md (c), (e)): gradient-norm profiles by
 * layer, learned-scale medians, compute to reach a perplexity, the LR-ramp explosion step, and seed statistics.
 * @module
 */
import type { EvalRecord, RunRecord, TrainRecord } from "./records.ts";
import { lrAt, type ScheduleConfig } from "../optim/schedule.ts";

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
  x: "flops" | "tokens" | "time" = "flops",
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

/** Mean of each layer's gradient norm over the steps in [from, to], and the first/last ratio of those means. */
export function gradRatioWindow(
  records: RunRecord[],
  opts: { param?: string; from: number; to?: number; norm?: "l1" | "l2" },
): { ratio: number; byLayer: number[]; steps: number } {
  const { steps, byLayer } = gradSeries(records, opts.param ?? "fc2.weight", opts.norm ?? "l1");
  const keep = steps.map((s) => s >= opts.from && s <= (opts.to ?? Infinity));
  const n = keep.filter((k) => k).length;
  if (n === 0) {
    throw new Error(`Cannot average gradient norms over steps ${opts.from}–${opts.to ?? "end"}: no record there`);
  }
  const means = byLayer.map((series) => series.reduce((s, v, i) => s + (keep[i] ? v : 0), 0) / n);
  return { ratio: means[0] / means[means.length - 1], byLayer: means, steps: n };
}

/** Per-layer means of the activation RMS values over a window (see `ActivationStats`). */
export interface ActivationMeans {
  /** RMS of fc2's input, per layer. */
  fc2In: number[];
  /** RMS of the gradient at fc2's output, per layer. */
  fc2OutGrad: number[];
  /** RMS of the attention sublayer's output added to the stream, per layer. */
  attnOut: number[];
  /** RMS of the residual stream leaving the layer, per layer. */
  stream: number[];
}

/**
 * Why the fc2 gradient ratio (layer 0 / last layer) is what it is. The fc2 weight gradient is Σₜ gₜ uₜᵀ (g the
 * gradient at fc2's output, u its input), so over a window of steps
 * `ratio = outGrad × input × remainder`: `outGrad` the first/last ratio of g's RMS, `input` that of u's RMS, and
 * `remainder` what alignment between g and u (and the L1 vs RMS shapes) adds. Needs records with `activations`
 * (gradStats with actStatsEvery > 0).
 */
export function fc2RatioDecomposition(
  records: RunRecord[],
  from: number,
  to = Infinity,
): { ratio: number; outGrad: number; input: number; remainder: number; means: ActivationMeans; samples: number } {
  const { ratio } = gradRatioWindow(records, { from, to });
  const act = trainOf(records).filter((r) => r.activations && r.step >= from && r.step <= to);
  if (act.length === 0) {
    throw new Error(
      `Cannot decompose the fc2 ratio over steps ${from}–${to}: no activation stats there (train with actStatsEvery)`,
    );
  }
  const mean = (k: keyof ActivationMeans) =>
    act[0].activations![k].map((_, i) => act.reduce((s, r) => s + r.activations![k][i], 0) / act.length);
  const means = {
    fc2In: mean("fc2In"),
    fc2OutGrad: mean("fc2OutGrad"),
    attnOut: mean("attnOut"),
    stream: mean("stream"),
  };
  const firstLast = (v: number[]) => v[0] / v[v.length - 1];
  const outGrad = firstLast(means.fc2OutGrad), input = firstLast(means.fc2In);
  return { ratio, outGrad, input, remainder: ratio / (outGrad * input), means, samples: act.length };
}

/** Σ lr over updates 1..steps of a schedule (`lrAt`), e.g. the paper's 125M run (`PAPER_125M_SCHEDULE`). */
export function sumLrOfSchedule(cfg: ScheduleConfig): number {
  let s = 0;
  for (let t = 1; t <= cfg.steps; t++) s += lrAt(t, cfg);
  return s;
}

/** Σ lr over a run's updates (how far the optimiser could move the weights; the paper's 125M run: ≈ 858). */
export function sumLr(records: RunRecord[]): number {
  return trainOf(records).filter((r) => !r.skipped).reduce((s, r) => s + r.lr, 0);
}

/**
 * Paired speed-up per seed: for each [baseline, candidate] pair, 1 − (compute at which the candidate first reaches
 * the baseline's final validation loss) / (the baseline's total compute), by `x`. Null for a pair where the
 * candidate never reaches it.
 */
export function pairedSavings(
  pairs: readonly (readonly [RunRecord[], RunRecord[]])[],
  x: "flops" | "tokens" | "time" = "flops",
): (number | null)[] {
  return pairs.map(([baseline, candidate]) => computeSaving(baseline, candidate, x));
}
