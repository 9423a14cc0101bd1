/**
 * Plotly figures (`{data, layout}`, as `application/vnd.plotly.v1+json` carries them) for interactive zooming into
 * long runs, and `plotlyToVegaLite`, which redraws a figure's scatter and bar traces as a Vega-Lite spec so that
 * a static SVG/PNG fallback costs no browser.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { type Run, SCHEMA, X_TITLES } from "./_records.ts";
import { type LossCurveOptions, lossRows } from "./loss.ts";
import { gradHeatmap, type GradHeatmapOptions } from "./grad_heatmap.ts";

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
      color: {
        field: "trace",
        type: "nominal",
        title: null,
        sort: names,
        scale: { domain: names, range: colors },
        legend: { labelLimit: 400 },
      },
      order: { field: "i", type: "quantitative" },
    },
    layer: layers,
  } as unknown as TopLevelSpec;
}

/**
 * The key under which a Plotly figure built here carries the Vega-Lite spec its static image is drawn from
 * (a symbol, so JSON and the `application/vnd.plotly.v1+json` entry never see it).
 */
export const STATIC_FALLBACK: unique symbol = Symbol.for("normformer-kit.staticFallback");

/** A Plotly figure with the Vega-Lite spec of its static image attached under `STATIC_FALLBACK`. */
export type PlotlyFigureWithFallback = PlotlyFigure & { [STATIC_FALLBACK]?: TopLevelSpec };

function withFallback(fig: PlotlyFigure, spec: TopLevelSpec): PlotlyFigureWithFallback {
  Object.defineProperty(fig, STATIC_FALLBACK, { value: spec, enumerable: false });
  return fig as PlotlyFigureWithFallback;
}

/**
 * `gradHeatmap` as an interactive Plotly heatmap (hover shows parameter, layer and value; log colour scale as
 * log10 with the real values on the colour bar), whose static image is the Vega-Lite heatmap itself.
 * @example
 * ```ts
 * import { gradHeatmapFigure, STATIC_FALLBACK } from "./plotly.ts";
 * const grads = { "decoder.layers.0.fc1.weight": [4, 1] as [number, number],
 *                 "decoder.layers.1.fc1.weight": [2, 1] as [number, number] };
 * const records = [{ kind: "train" as const, step: 1, tokens: 0, flops: 0, time: 0, lr: 1, loss: 5, gradNorm: 1, grads }];
 * const fig = gradHeatmapFigure({ name: "nf", records });
 * console.log(fig.data[0].type, STATIC_FALLBACK in fig); // heatmap true
 * ```
 */
export function gradHeatmapFigure(run: Run, opts: GradHeatmapOptions = {}): PlotlyFigureWithFallback {
  const spec = gradHeatmap(run, opts);
  const rows = (spec as { data: { values: { kind: string; layer: number; value: number }[] } }).data.values;
  const enc = (spec as { encoding: Record<string, { sort?: string[]; title?: string; scale?: { domain?: number[] } }> })
    .encoding;
  const kinds = enc.y.sort ?? [...new Set(rows.map((r) => r.kind))];
  const layers = [...new Set(rows.map((r) => r.layer))].sort((a, b) => a - b);
  const at = new Map(rows.map((r) => [`${r.kind}|${r.layer}`, r.value]));
  const z = kinds.map((k) => layers.map((l) => at.get(`${k}|${l}`) ?? null));
  const log = (v: number | null) => (v === null ? null : Math.log10(v));
  const domain = enc.color.scale?.domain;
  const lo = Math.floor(Math.log10(domain?.[0] ?? Math.min(...rows.map((r) => r.value))));
  const hi = Math.ceil(Math.log10(domain?.[1] ?? Math.max(...rows.map((r) => r.value))));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const title = (spec as { title: { text: string } }).title.text;
  const relative = opts.relativeTo !== undefined;
  return withFallback({
    data: [{
      type: "heatmap",
      x: layers,
      y: kinds,
      z: z.map((r) => r.map(log)),
      customdata: z,
      ...(domain ? { zmin: Math.log10(domain[0]), zmax: Math.log10(domain[1]) } : {}),
      colorscale: relative ? "RdBu" : "Viridis",
      reversescale: relative,
      colorbar: {
        title: { text: enc.color.title ?? "" },
        tickvals: ticks,
        ticktext: ticks.map((t) => `1e${t}`),
      },
      hovertemplate: "%{y}, layer %{x}: %{customdata:.4g}<extra></extra>",
    }],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "Layer" }, dtick: 1 },
      yaxis: { title: { text: "Parameter (weight unless .bias)" }, autorange: "reversed" },
      width: Math.min(800, 300 + 40 * layers.length),
      height: 160 + 26 * kinds.length,
    },
  }, spec);
}

/** A run in `lossExplorerFigure`, with the group it belongs to in the menu (e.g. "lr 3e-3"). */
export type GroupedRun = Run & { group: string };

/** Options of `lossExplorerFigure`. */
export interface LossExplorerOptions {
  /** x field (default "step"). */
  x?: LossCurveOptions["x"];
  /** The group shown first (and in the static image); default the first. */
  initialGroup?: string;
  /** Title (default "Validation loss of every run"). */
  title?: string;
  /** Colour key of a run (default its name); runs with one key share a colour. */
  colorBy?: (run: GroupedRun) => string;
}

/**
 * Validation-loss curves of many runs (e.g. an LR sweep) with a menu that shows one group or all, legend
 * entries that toggle runs, and hover values. The static image shows the initial group.
 * @example
 * ```ts
 * import { lossExplorerFigure } from "./plotly.ts";
 * const records = (s: number) => [1, 2].flatMap((step) => [
 *   { kind: "train" as const, step, tokens: 0, flops: 0, time: 0, lr: 1e-3, loss: s / step, gradNorm: 1 },
 *   { kind: "eval" as const, split: "valid" as const, step, tokens: 0, flops: 0, time: 0, loss: s / step, ppl: 1, bpb: 1 },
 * ]);
 * const fig = lossExplorerFigure([
 *   { name: "a", group: "lr 1e-3", records: records(5) },
 *   { name: "b", group: "lr 3e-3", records: records(4) },
 * ]);
 * console.log(fig.data.length, (fig.layout!.updatemenus as unknown[]).length); // 2 1
 * ```
 */
export function lossExplorerFigure(
  runs: readonly GroupedRun[],
  opts: LossExplorerOptions = {},
): PlotlyFigureWithFallback {
  const rows = lossRows(runs, { x: opts.x, split: "valid" }).filter((r) => r.series === "valid");
  const groups = [...new Set(runs.map((r) => r.group))];
  const initial = opts.initialGroup ?? groups[0];
  if (!groups.includes(initial)) {
    throw new Error(`Unknown initialGroup "${initial}": expected one of ${groups.map((g) => `"${g}"`).join(", ")}`);
  }
  const colorKey = opts.colorBy ?? ((r: GroupedRun) => r.name);
  const keys = [...new Set(runs.map(colorKey))];
  const data: PlotlyTrace[] = runs.map((run) => {
    const mine = rows.filter((r) => r.run === run.name);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: run.name,
      legendgroup: run.group,
      x: mine.map((r) => r.x),
      y: mine.map((r) => r.loss),
      line: { color: PALETTE[keys.indexOf(colorKey(run)) % PALETTE.length] },
      marker: { size: 5 },
      visible: run.group === initial ? true : "legendonly",
      hovertemplate: `${run.name}<br>%{x}: %{y:.4f}<extra></extra>`,
    };
  });
  const mask = (g: string | null) => runs.map((r) => (g === null || r.group === g ? true : "legendonly"));
  const title = opts.title ?? "Validation loss of every run";
  const fig: PlotlyFigure = {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: X_TITLES[opts.x ?? "step"] } },
      yaxis: { title: { text: "Validation loss (nats/token)" } },
      width: 780,
      height: 460,
      updatemenus: [{
        type: "dropdown",
        x: 1,
        xanchor: "right",
        y: 1.12,
        yanchor: "top",
        active: groups.indexOf(initial),
        buttons: [
          ...groups.map((g) => ({ label: g, method: "restyle", args: [{ visible: mask(g) }] })),
          { label: "all", method: "restyle", args: [{ visible: mask(null) }] },
        ],
      }],
    },
  };
  const staticSpec = plotlyToVegaLite({
    data: data.filter((t) => t.visible === true).map((t) => ({ ...t, mode: "lines" })),
    layout: { ...fig.layout, title: { text: `${title}: ${initial}` }, width: 640, height: 400 },
  });
  return withFallback(fig, staticSpec);
}
