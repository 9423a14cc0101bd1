/**
 * Per-layer profiles: one panel per quantity (e.g. fc2 input RMS, gradient RMS at fc2's output, residual-stream
 * RMS), one line per series across layers, on a log y axis so ratios read as distances. Notebook 01 uses it to
 * show why the fc2 gradient ratio differs between Post-LN, Pre-LN and NormFormer.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { SCHEMA } from "./_records.ts";

/** One value: a series (architecture), a quantity (panel), a layer. */
export interface ProfilePoint {
  /** Legend label. */
  series: string;
  /** Panel title. */
  quantity: string;
  /** 0-based layer. */
  layer: number;
  /** A positive value. */
  value: number;
}

/**
 * Panels of per-layer values (log y, independent per panel), a line per series.
 * @example
 * ```ts
 * import { layerProfiles } from "./profiles.ts";
 * const spec = layerProfiles([0, 1, 2].map((layer) => ({ series: "Pre-LN", quantity: "fc2 input RMS", layer, value: 1 + layer })));
 * console.log("facet" in spec); // true
 * ```
 */
export function layerProfiles(points: readonly ProfilePoint[], opts: { title?: string } = {}): TopLevelSpec {
  if (!Array.isArray(points) || points.length === 0) throw new Error("Cannot plot layer profiles: no points");
  const bad = points.find((p) => !(p.value > 0) || !Number.isInteger(p.layer) || p.layer < 0);
  if (bad) {
    throw new Error(
      `Cannot plot layer profiles: values must be > 0 on integer layers ≥ 0 (log axis), got ${JSON.stringify(bad)}`,
    );
  }
  const quantities = [...new Set(points.map((p) => p.quantity))];
  return {
    $schema: SCHEMA,
    title: { text: opts.title ?? "Per-layer profiles", subtitle: "log y axis, each panel its own scale" },
    data: { values: [...points] },
    facet: { column: { field: "quantity", type: "nominal", title: null, sort: quantities } },
    spec: {
      width: 180,
      height: 180,
      mark: { type: "line", point: { filled: true, size: 30 } },
      encoding: {
        x: { field: "layer", type: "quantitative", title: "Layer", axis: { tickMinStep: 1, format: "d" } },
        y: { field: "value", type: "quantitative", title: null, scale: { type: "log" } },
        color: { field: "series", type: "nominal", title: "Series" },
        tooltip: [{ field: "series" }, { field: "layer" }, { field: "value", format: ".4g" }],
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}
