/**
 * Every layer parameter's gradient norm as a heatmap, rows = parameter kind, columns = layer (the idea of the
 * paper's appendix Fig. 7, which plots the change in gradient norm of each operation at each layer; pass a
 * baseline run as `relativeTo` for that change).
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { parseLayerParam, type Run, SCHEMA } from "./_records.ts";
import { type GradNormKind, NORM_TITLES, recordsWithGrads } from "./grads.ts";

/** Options of `gradHeatmap`. */
export interface GradHeatmapOptions {
  /** Norm (default "l1"). */
  norm?: GradNormKind;
  /** Average over steps in [from, to] (default: every record with grads). */
  steps?: readonly [number, number];
  /** Divide by this run's averages: cells show the ratio run / baseline (Fig. 7's change in grad norm). */
  relativeTo?: Run;
  /** "weights" (default): matrices, gains and learned scales; "all" adds biases. */
  include?: "weights" | "all";
  /** Colour-scale [min, max] (e.g. `gradHeatmapDomain` of several runs, so their heatmaps compare); default: this run's. */
  domain?: readonly [number, number];
}

/** Row order: the order operations run in a layer (q, k, v, out, scales, norms, FFN), then anything else. */
const KIND_ORDER = [
  "self_attn_layer_norm",
  "self_attn.q_proj",
  "self_attn.k_proj",
  "self_attn.v_proj",
  "c_attn",
  "self_attn.out_proj",
  "attn_ln",
  "final_layer_norm",
  "fc1",
  "ffn_layernorm",
  "fc2",
  "w_resid",
];

/** Row label: "self_attn.q_proj.weight" → "q_proj", "fc2.bias" stays. */
function shortKind(kind: string): string {
  return kind.replace(/^self_attn\./, "").replace(/\.weight$/, "");
}

function kindRank(kind: string): number {
  const i = KIND_ORDER.findIndex((k) => kind === k || kind.startsWith(`${k}.`));
  return (i < 0 ? KIND_ORDER.length : i) * 2 + (kind.endsWith(".bias") ? 1 : 0);
}

/** Mean norm per full parameter name over a run's records with grads. */
function meanNorms(run: Run, opts: GradHeatmapOptions): Map<string, number> {
  const idx = (opts.norm ?? "l1") === "l1" ? 0 : 1;
  let recs = recordsWithGrads([run]).get(run.name)!;
  if (opts.steps) recs = recs.filter((r) => r.step >= opts.steps![0] && r.step <= opts.steps![1]);
  if (recs.length === 0) {
    throw new Error(
      `Cannot plot a grad heatmap: run "${run.name}" has no grads in steps ${JSON.stringify(opts.steps)}`,
    );
  }
  // Experiments keep some parameters every step and all of them every N steps: average over the records that
  // carry every parameter, so each cell covers the same steps (a spike logged for one parameter only cannot skew it).
  const widest = Math.max(...recs.map((r) => Object.keys(r.grads!).length));
  const sums = new Map<string, [number, number]>();
  for (const r of recs.filter((r) => Object.keys(r.grads!).length === widest)) {
    for (const [name, v] of Object.entries(r.grads!)) {
      const [s, n] = sums.get(name) ?? [0, 0];
      sums.set(name, [s + v[idx], n + 1]);
    }
  }
  return new Map([...sums].map(([name, [s, n]]) => [name, s / n]));
}

/**
 * The [min, max] of the mean gradient norms over several runs' heatmaps, to pass as `domain` so the runs share
 * one colour scale.
 */
export function gradHeatmapDomain(runs: readonly Run[], opts: GradHeatmapOptions = {}): [number, number] {
  const values = runs.flatMap((run) =>
    [...meanNorms(run, opts)].filter(([name, v]) => {
      const p = parseLayerParam(name);
      return p && (opts.include === "all" || !p.kind.endsWith(".bias")) && v > 0 && Number.isFinite(v);
    }).map(([, v]) => v)
  );
  if (values.length === 0) throw new Error("Cannot find a heatmap domain: no run has per-layer parameter grads");
  return [Math.min(...values), Math.max(...values)];
}

/**
 * Heatmap of mean gradient norms by parameter kind (rows) and layer (columns), log colour scale; with
 * `relativeTo`, the ratio to a baseline run on a diverging scale centred on 1.
 * @example
 * ```ts
 * import { gradHeatmap } from "./grad_heatmap.ts";
 * const grads = { "decoder.layers.0.fc1.weight": [4, 1] as [number, number],
 *                 "decoder.layers.0.fc2.weight": [2, 1] as [number, number] };
 * const records = [{ kind: "train" as const, step: 1, tokens: 0, flops: 0, time: 0, lr: 1, loss: 5, gradNorm: 1, grads }];
 * const spec = gradHeatmap({ name: "nf", records });
 * console.log("mark" in spec && spec.mark); // rect
 * ```
 */
export function gradHeatmap(run: Run, opts: GradHeatmapOptions = {}): TopLevelSpec {
  const norm = opts.norm ?? "l1";
  if (norm !== "l1" && norm !== "l2") throw new Error(`Invalid norm "${norm}": expected "l1" or "l2"`);
  const means = meanNorms(run, opts);
  const base = opts.relativeTo ? meanNorms(opts.relativeTo, opts) : null;
  const rows: { kind: string; layer: number; value: number; rank: number }[] = [];
  for (const [name, v] of means) {
    const p = parseLayerParam(name);
    if (!p || (opts.include !== "all" && p.kind.endsWith(".bias"))) continue;
    const value = base ? v / (base.get(name) ?? NaN) : v;
    if (Number.isFinite(value) && value > 0) {
      rows.push({ kind: shortKind(p.kind), layer: p.layer, value, rank: kindRank(p.kind) });
    }
  }
  if (rows.length === 0) {
    throw new Error(
      base
        ? `Cannot plot a grad heatmap: runs "${run.name}" and "${opts.relativeTo!.name}" share no layer parameter`
        : `Cannot plot a grad heatmap: run "${run.name}" has no per-layer parameter grads`,
    );
  }
  rows.sort((a, b) => a.rank - b.rank || a.kind.localeCompare(b.kind) || a.layer - b.layer);
  const kinds = [...new Set(rows.map((r) => r.kind))];
  const valueTitle = base ? `${NORM_TITLES[norm]} ratio to ${opts.relativeTo!.name}` : NORM_TITLES[norm];
  return {
    $schema: SCHEMA,
    title: {
      text: base ? `Change in gradient norm: ${run.name} / ${opts.relativeTo!.name}` : `Gradient norms: ${run.name}`,
      subtitle: opts.steps
        ? `mean over steps ${opts.steps[0]}–${opts.steps[1]}`
        : "mean over the steps that log every parameter",
    },
    data: { values: rows },
    width: { step: 28 },
    height: { step: 20 },
    mark: "rect",
    encoding: {
      x: { field: "layer", type: "ordinal", title: "Layer", axis: { labelAngle: 0 } },
      y: { field: "kind", type: "ordinal", title: "Parameter (weight unless .bias)", sort: kinds },
      color: {
        field: "value",
        type: "quantitative",
        title: valueTitle,
        legend: { orient: "bottom", titleLimit: 400, gradientLength: 220 },
        scale: base
          ? { type: "log", scheme: "blueorange", domainMid: 1, ...(opts.domain ? { domain: [...opts.domain] } : {}) }
          : { type: "log", scheme: "viridis", ...(opts.domain ? { domain: [...opts.domain] } : {}) },
      },
      tooltip: [{ field: "kind" }, { field: "layer" }, { field: "value", format: ".4g" }],
    },
  };
}
