/**
 * The LR sweep: final validation loss (mean ± std over seeds) against the peak learning rate, one line per
 * architecture, on a log LR axis; the paper's "NormFormer is better, more so at high LR" reads off the gap.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { SCHEMA } from "./_records.ts";

/** One point of the sweep: an architecture at one LR. */
export interface SweepPoint {
  /** Legend label (e.g. "Pre-LN"). */
  series: string;
  /** Peak learning rate. */
  lr: number;
  /** Mean final validation loss over seeds. */
  mean: number;
  /** Standard deviation over seeds (0 for one seed). */
  std: number;
  /** Seeds averaged. */
  n: number;
}

/**
 * Mean ± std of the final validation loss against LR (log axis), one line per series, error bars per point.
 * @example
 * ```ts
 * import { lrSweep } from "./sweep.ts";
 * const spec = lrSweep([
 *   { series: "Pre-LN", lr: 1e-3, mean: 2.5, std: 0.01, n: 3 },
 *   { series: "Pre-LN", lr: 3e-3, mean: 2.45, std: 0.02, n: 3 },
 * ]);
 * console.log("layer" in spec); // true
 * ```
 */
export function lrSweep(
  points: readonly SweepPoint[],
  opts: { title?: string; valueTitle?: string } = {},
): TopLevelSpec {
  if (!Array.isArray(points) || points.length === 0) throw new Error("Cannot plot an LR sweep: no points were given");
  for (const p of points) {
    if (typeof p?.series !== "string" || !(p.lr > 0) || !Number.isFinite(p.mean) || !(p.std >= 0)) {
      throw new Error(
        `Cannot plot an LR sweep: each point needs a series, an lr > 0, a finite mean and a std ≥ 0, got ${
          JSON.stringify(p)
        }`,
      );
    }
  }
  const values = points.map((p) => ({ ...p, lo: p.mean - p.std, hi: p.mean + p.std }));
  const lrs = [...new Set(points.map((p) => p.lr))].sort((a, b) => a - b);
  const x = {
    field: "lr",
    type: "quantitative" as const,
    title: "Peak learning rate (log scale)",
    scale: { type: "log" as const, domain: [lrs[0] / 1.3, lrs.at(-1)! * 1.3], nice: false },
    axis: { values: lrs, format: "~e" },
  };
  const valueTitle = opts.valueTitle ?? "Final validation loss (nats/byte)";
  const y = {
    field: "mean",
    type: "quantitative" as const,
    title: `${valueTitle}, mean ± std`,
    scale: { zero: false },
  };
  const color = { field: "series", type: "nominal" as const, title: "Architecture" };
  return {
    $schema: SCHEMA,
    title: { text: opts.title ?? "LR sweep", subtitle: "error bars: ± one standard deviation over seeds" },
    width: 420,
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: "line", point: { filled: true, size: 50 } },
        encoding: {
          x,
          y,
          color,
          tooltip: [{ field: "series" }, { field: "lr", format: ".0e" }, { field: "mean", format: ".4f" }, {
            field: "std",
            format: ".4f",
          }, { field: "n" }],
        },
      },
      { mark: { type: "rule" }, encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color } },
    ],
  };
}
