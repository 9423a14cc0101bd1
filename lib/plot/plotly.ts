/**
 * Plotly figures (`{data, layout}`, as `application/vnd.plotly.v1+json` carries them) for interactive zooming into
 * long runs, and `plotlyToVegaLite`, which redraws a figure's scatter and bar traces as a Vega-Lite spec so that
 * a static SVG/PNG fallback costs no browser.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { type Run, SCHEMA, X_TITLES } from "./_records.ts";
import { type LossCurveOptions, lossRows } from "./loss.ts";

/** One Plotly trace (the fields this kit writes and `plotlyToVegaLite` reads; others pass through). */
export interface PlotlyTrace {
  /** "scatter" (default) or "bar" for a static redraw; any Plotly type for the interactive entry. */
  type?: string;
  /** Legend label. */
  name?: string;
  /** x values (numbers, or strings for categories). */
  x?: readonly (number | string)[];
  /** y values. */
  y?: readonly (number | string)[];
  /** Scatter mode: "lines", "markers" or "lines+markers". */
  mode?: string;
  /** Bar orientation. */
  orientation?: "v" | "h";
  /** Any other Plotly attribute (line, marker, error_y, ...). */
  [key: string]: unknown;
}

/** A Plotly figure. */
export interface PlotlyFigure {
  /** The traces. */
  data: PlotlyTrace[];
  /** Title, axes (`xaxis.title`, `xaxis.type: "log"`), size and the rest of Plotly's layout. */
  layout?: Record<string, unknown>;
}

/** Vega's default categorical palette, so a run has one colour across traces and across both libraries. */
const PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d"];

/**
 * The loss curve of `lossCurve` as a Plotly figure: per run, the smoothed train loss as a line and the eval loss
 * as markers, in one colour.
 * @example
 * ```ts
 * import { lossCurveFigure } from "./plotly.ts";
 * const records = [1, 2].map((step) => ({
 *   kind: "train" as const, step, tokens: 0, flops: 0, time: 0, lr: 1e-3, loss: 5 / step, gradNorm: 1,
 * }));
 * console.log(lossCurveFigure([{ name: "tiny", records }]).data.length); // 1
 * ```
 */
export function lossCurveFigure(runs: readonly Run[], opts: LossCurveOptions = {}): PlotlyFigure {
  const rows = lossRows(runs, opts);
  const data: PlotlyTrace[] = [];
  runs.forEach((run, i) => {
    const color = PALETTE[i % PALETTE.length];
    const train = rows.filter((r) => r.run === run.name && r.series === "train");
    const evals = rows.filter((r) => r.run === run.name && (r.series === "valid" || r.series === "test"));
    if (train.length) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${run.name} train`,
        x: train.map((r) => r.x),
        y: train.map((r) => r.loss),
        line: { color },
      });
    }
    if (evals.length) {
      data.push({
        type: "scatter",
        mode: "markers",
        name: `${run.name} ${evals[0].series}`,
        x: evals.map((r) => r.x),
        y: evals.map((r) => r.loss),
        marker: { color, size: 8 },
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Training loss" },
      xaxis: { title: { text: X_TITLES[opts.x ?? "step"] } },
      yaxis: { title: { text: "Cross-entropy (nats/token)" }, type: opts.logY ? "log" : "linear" },
      width: 640,
      height: 400,
    },
  };
}

function titleText(t: unknown): string | undefined {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") {
    return (t as { text: string }).text;
  }
  return undefined;
}

function axis(layout: Record<string, unknown>, key: "xaxis" | "yaxis") {
  const a = (layout[key] ?? {}) as { title?: unknown; type?: string };
  const log = a.type === "log";
  return { title: titleText(a.title) ?? (key === "xaxis" ? "x" : "y"), scale: log ? { type: "log" as const } : {} };
}

/**
 * Redraw a Plotly figure's scatter (lines and/or markers) and bar traces as a Vega-Lite layer spec, keeping the
 * title, axis titles, log axes and trace names (as the colour legend). Other trace types throw.
 * @example
 * ```ts
 * import { plotlyToVegaLite } from "./plotly.ts";
 * const spec = plotlyToVegaLite({ data: [{ type: "bar", name: "a", x: ["x", "y"], y: [1, 2] }] });
 * console.log("layer" in spec); // true
 * ```
 */
export function plotlyToVegaLite(fig: PlotlyFigure): TopLevelSpec {
  if (!fig || !Array.isArray(fig.data) || fig.data.length === 0) {
    throw new Error("Cannot render a Plotly figure with no traces: expected {data: [trace, ...], layout}");
  }
  const layout = fig.layout ?? {};
  const rows: { trace: string; x: number | string; y: number | string; i: number }[] = [];
  const names: string[] = [];
  const colors: string[] = [];
  const layers: Record<string, unknown>[] = [];
  const xa = axis(layout, "xaxis"), ya = axis(layout, "yaxis");
  let categoricalX = false, categoricalY = false;
  fig.data.forEach((t, k) => {
    const type = t.type ?? "scatter";
    if (type !== "scatter" && type !== "scattergl" && type !== "bar") {
      throw new Error(`Cannot render Plotly trace type "${type}" statically: only scatter and bar are supported`);
    }
    const name = t.name ?? `trace ${k}`;
    names.push(name);
    const style = (t.line ?? t.marker ?? {}) as { color?: unknown };
    colors.push(typeof style.color === "string" ? style.color : PALETTE[k % PALETTE.length]);
    const xs = t.x ?? [], ys = t.y ?? [];
    for (let i = 0; i < Math.min(xs.length, ys.length); i++) rows.push({ trace: name, x: xs[i], y: ys[i], i });
    if (xs.some((v) => typeof v === "string")) categoricalX = true;
    if (ys.some((v) => typeof v === "string")) categoricalY = true;
    const filter = [{ filter: { field: "trace", equal: name } }];
    const mode = type === "bar" ? "bar" : t.mode ?? "lines+markers";
    if (mode === "bar") layers.push({ transform: filter, mark: { type: "bar", opacity: 0.85 } });
    if (mode.includes("lines")) layers.push({ transform: filter, mark: { type: "line" } });
    if (mode.includes("markers")) layers.push({ transform: filter, mark: { type: "point", filled: true } });
  });
  const enc = (field: "x" | "y", a: typeof xa, categorical: boolean) =>
    categorical
      ? { field, type: "nominal" as const, title: a.title, sort: null }
      : { field, type: "quantitative" as const, title: a.title, scale: "type" in a.scale ? a.scale : { zero: false } };
  return {
    $schema: SCHEMA,
    ...(titleText(layout.title) ? { title: titleText(layout.title)! } : {}),
    width: typeof layout.width === "number" ? Math.max(200, layout.width - 160) : 480,
    height: typeof layout.height === "number" ? Math.max(150, layout.height - 100) : 300,
    data: { values: rows },
    encoding: {
      x: enc("x", xa, categoricalX),
      y: enc("y", ya, categoricalY),
      color: { field: "trace", type: "nominal", title: null, sort: names, scale: { domain: names, range: colors } },
      order: { field: "i", type: "quantitative" },
    },
    layer: layers,
  } as unknown as TopLevelSpec;
}
