/**
 * Mean ± standard deviation bars for ablations and seed sweeps (one bar per configuration).
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { SCHEMA } from "./_records.ts";

/** One bar: a label, the mean over seeds and their standard deviation. */
export interface BarRow {
  /** Bar label (a configuration name). */
  label: string;
  /** Mean over seeds. */
  mean: number;
  /** Standard deviation over seeds (0 for one seed). */
  std: number;
}

/** Options of `barsWithError`. */
export interface BarsWithErrorOptions {
  /** Title (default "Ablations"). */
  title?: string;
  /** Value axis title with its unit (default "Validation perplexity"). */
  valueTitle?: string;
  /** Start the value axis at zero (default false: small differences stay visible; bars are clipped). */
  zero?: boolean;
  /** Sort bars by mean ("ascending"/"descending"), or keep the given order (default). */
  sort?: "ascending" | "descending" | null;
  /** d3 format of the value printed beside each bar (default ".3f"). */
  format?: string;
}

/**
 * Horizontal bars of `mean` with ±`std` error bars, labels on the y axis (ablation names are long).
 * @example
 * ```ts
 * import { barsWithError } from "./bars.ts";
 * const spec = barsWithError([
 *   { label: "NormFormer", mean: 15.9, std: 0.05 },
 *   { label: "Pre-LN baseline", mean: 16.4, std: 0.07 },
 * ]);
 * console.log(JSON.stringify(spec.title)); // "Ablations"
 * ```
 */
export function barsWithError(rows: readonly BarRow[], opts: BarsWithErrorOptions = {}): TopLevelSpec {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("Cannot plot bars: no rows were given");
  for (const r of rows) {
    if (typeof r?.label !== "string" || !Number.isFinite(r.mean) || !(r.std >= 0)) {
      throw new Error(
        `Cannot plot bars: each row needs a label, a finite mean and a std ≥ 0, got ${JSON.stringify(r)}`,
      );
    }
  }
  const labels = rows.map((r) => r.label);
  if (new Set(labels).size !== labels.length) throw new Error("Cannot plot bars: labels must be unique");
  const values = rows.map((r) => ({ ...r, lo: r.mean - r.std, hi: r.mean + r.std }));
  const sort = opts.sort ? { field: "mean", order: opts.sort } : labels;
  const y = { field: "label", type: "nominal" as const, title: null, sort };
  const valueTitle = opts.valueTitle ?? "Validation perplexity";
  const x = {
    field: "mean",
    type: "quantitative" as const,
    title: `${valueTitle} (mean ± std)`,
    scale: { zero: opts.zero ?? false },
  };
  return {
    $schema: SCHEMA,
    title: opts.title ?? "Ablations",
    width: 400,
    height: { step: 24 },
    data: { values },
    layer: [
      {
        mark: { type: "bar", clip: true, color: "#4c78a8" },
        encoding: {
          x: { ...x, stack: null },
          y,
          tooltip: [{ field: "label" }, { field: "mean", format: ".4f" }, { field: "std", format: ".4f" }],
        },
      },
      { mark: { type: "rule", color: "black" }, encoding: { x: { ...x, field: "lo" }, x2: { field: "hi" }, y } },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
        encoding: { x: { ...x, field: "hi" }, y, text: { field: "mean", format: opts.format ?? ".3f" } },
      },
    ],
  };
}
