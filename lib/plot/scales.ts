/**
 * The learned-scale plot of paper Fig. 4: per layer, a box (quartiles) and whiskers (min–max) of the entries of
 * the FFN-LN gain, the post-attention-LN gain and the HeadScale γ, one panel each, y = weight.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import type { ScaleSummary } from "../metrics/records.ts";
import { PAPER_SCALE_MEDIANS as PAPER } from "../metrics/paper.ts";
import { parseLayerParam, SCHEMA } from "./_records.ts";

/** Panel titles as in the paper, keyed by the parameter kind after `decoder.layers.N.`. */
export const SCALE_PANELS: Readonly<Record<string, string>> = {
  "ffn_layernorm.weight": "FFN LayerNorm",
  "attn_ln.weight": "Post Attn LayerNorm",
  "c_attn": "HeadScale",
};

/** Per-layer medians read off the paper's Fig. 4 (12-layer model; approximate, see NORMFORMER.md c.2). */
export interface ScaleMedians {
  /** FFN LayerNorm gain medians, layer 0 first. */
  ffn: readonly number[];
  /** Post-attention LayerNorm gain medians. */
  postAttn: readonly number[];
  /** HeadScale γ medians. */
  headScale: readonly number[];
}

/** The paper's Fig. 4 medians (≈, read from the figure), from `lib/metrics/paper.ts`. */
export const PAPER_SCALE_MEDIANS: Readonly<ScaleMedians> = Object.freeze({
  ffn: PAPER.ffnNorm,
  postAttn: PAPER.postAttnNorm,
  headScale: PAPER.headScale,
});

/** Options of `learnedScaleBoxes`. */
export interface LearnedScaleBoxesOptions {
  /** Draw reference medians as points: true for the paper's (`PAPER_SCALE_MEDIANS`), or your own. */
  paperMedians?: boolean | ScaleMedians;
  /** Title (default "Learned scaling parameters"). */
  title?: string;
}

type Row =
  | ({ type: "box"; panel: string; layer: number } & ScaleSummary)
  | { type: "paper"; panel: string; layer: number; median: number }
  | { type: "ref"; panel: string; ref: number };

/**
 * Box plots of learned scales by layer from an eval record's `scales` summaries, in three panels (those present),
 * with a reference line at 1 in the HeadScale panel and, when asked, the paper's medians as points (for the
 * layers the run has).
 * @example
 * ```ts
 * import { learnedScaleBoxes } from "./scales.ts";
 * const s = { min: 0.1, q1: 0.2, median: 0.3, q3: 0.4, max: 0.9, mean: 0.35 };
 * const spec = learnedScaleBoxes({ "decoder.layers.0.ffn_layernorm.weight": s, "decoder.layers.0.c_attn": s });
 * console.log("facet" in spec); // true (one panel per kind of scale)
 * ```
 */
export function learnedScaleBoxes(
  scales: Record<string, ScaleSummary> | undefined,
  opts: LearnedScaleBoxesOptions = {},
): TopLevelSpec {
  const rows: Row[] = [];
  for (const [name, s] of Object.entries(scales ?? {})) {
    const p = parseLayerParam(name);
    const panel = p && SCALE_PANELS[p.kind];
    if (p && panel) rows.push({ type: "box", panel, layer: p.layer, ...s });
  }
  if (rows.length === 0) {
    throw new Error(
      "Cannot plot learned scales: the record has no NormFormer scales (ffn_layernorm.weight, attn_ln.weight, " +
        "c_attn); pass the `scales` of an eval record of a NormFormer run",
    );
  }
  const panels = Object.values(SCALE_PANELS).filter((p) => rows.some((r) => r.panel === p));
  const medians = opts.paperMedians === true ? PAPER_SCALE_MEDIANS : opts.paperMedians || null;
  if (medians) {
    const byPanel: [string, readonly number[]][] = [
      ["FFN LayerNorm", medians.ffn],
      ["Post Attn LayerNorm", medians.postAttn],
      ["HeadScale", medians.headScale],
    ];
    for (const [panel, values] of byPanel) {
      const layers = new Set(
        rows.filter((r) => r.type === "box" && r.panel === panel).map((r) => (r as { layer: number }).layer),
      );
      values.forEach((median, layer) => {
        if (layers.has(layer)) rows.push({ type: "paper", panel, layer, median });
      });
    }
  }
  if (panels.includes("HeadScale")) rows.push({ type: "ref", panel: "HeadScale", ref: 1 });
  const only = (t: Row["type"]) => [{ filter: `datum.type === '${t}'` }];
  const x = { field: "layer", type: "ordinal" as const, title: "Layer", axis: { labelAngle: 0 } };
  const y = { field: "min", type: "quantitative" as const, title: "Weight", scale: { zero: true } };
  const source = {
    type: "nominal" as const,
    title: null,
    scale: medians
      ? { domain: ["this run", "paper median (≈)"], range: ["#4c78a8", "#e45756"] }
      : { domain: ["this run"], range: ["#4c78a8"] },
  };
  return {
    $schema: SCHEMA,
    title: { text: opts.title ?? "Learned scaling parameters", subtitle: "box: quartiles; whiskers: min–max" },
    data: { values: rows },
    facet: { column: { field: "panel", type: "nominal", title: null, sort: panels } },
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 220,
      height: 220,
      layer: [
        {
          transform: only("box"),
          mark: { type: "rule" },
          encoding: { x, y, y2: { field: "max" }, color: { datum: "this run", ...source } },
        },
        {
          transform: only("box"),
          mark: { type: "bar", size: 12 },
          encoding: {
            x,
            y: { ...y, field: "q1" },
            y2: { field: "q3" },
            color: { datum: "this run", ...source },
            tooltip: ["min", "q1", "median", "q3", "max"].map((f) => ({ field: f, format: ".3f" })),
          },
        },
        {
          transform: only("box"),
          mark: { type: "tick", color: "white", size: 12, thickness: 2 },
          encoding: { x, y: { ...y, field: "median" } },
        },
        // Layers with no rows at all make Vega warn about an infinite extent, so add them only when used.
        ...(rows.some((r) => r.type === "paper")
          ? [{
            transform: only("paper"),
            mark: { type: "point" as const, filled: true, size: 40, shape: "diamond" },
            encoding: { x, y: { ...y, field: "median" }, color: { datum: "paper median (≈)", ...source } },
          }]
          : []),
        ...(panels.includes("HeadScale")
          ? [{
            transform: only("ref"),
            mark: { type: "rule" as const, strokeDash: [4, 3], color: "gray" },
            encoding: { y: { field: "ref", type: "quantitative" as const } },
          }]
          : []),
      ],
    },
  };
}
