/**
 * Static rendering of figures with no browser: Vega-Lite → Vega → SVG (vega's headless renderer, text widths
 * estimated), SVG → PNG with resvg (napi; system fonts). The heavy packages load on first use only, so
 * importing the builders stays cheap.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { type PlotlyFigure, type PlotlyFigureWithFallback, plotlyToVegaLite, STATIC_FALLBACK } from "./plotly.ts";

/** Anything the display and save functions accept: a Vega-Lite spec or a Plotly figure. */
export type Figure = TopLevelSpec | PlotlyFigure;

/** Whether a figure is a Plotly `{data, layout}` object rather than a Vega-Lite spec. */
export function isPlotlyFigure(fig: Figure): fig is PlotlyFigure {
  return typeof fig === "object" && fig !== null && Array.isArray((fig as PlotlyFigure).data) &&
    !("$schema" in fig) && !("mark" in fig) && !("layer" in fig);
}

/**
 * The Vega-Lite spec that draws a figure statically: a Plotly figure's attached `STATIC_FALLBACK`, else its
 * `plotlyToVegaLite` redraw.
 */
export function vegaLiteOf(fig: Figure): TopLevelSpec {
  if (typeof fig !== "object" || fig === null) {
    throw new Error(`Cannot render ${JSON.stringify(fig)}: expected a Vega-Lite spec or a Plotly figure`);
  }
  if (!isPlotlyFigure(fig)) return fig;
  return (fig as PlotlyFigureWithFallback)[STATIC_FALLBACK] ?? plotlyToVegaLite(fig);
}

/** An SVG and what Vega-Lite and Vega warned about while making it. */
export interface RenderedSvg {
  /** The SVG document. */
  svg: string;
  /** Vega-Lite and Vega warnings (empty for a clean spec). */
  warnings: string[];
}

/**
 * Compile and render a figure to SVG. Warnings are collected, not printed.
 * @example
 * ```ts
 * import { renderSvg } from "./render.ts";
 * const { svg } = await renderSvg({
 *   data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "a", type: "quantitative", title: "Step" }, y: { field: "b", type: "quantitative" } },
 * });
 * console.log(svg.startsWith("<svg"), svg.includes("Step")); // true true
 * ```
 */
export async function renderSvg(fig: Figure): Promise<RenderedSvg> {
  const spec = vegaLiteOf(fig);
  const [vega, vl] = await Promise.all([import("npm:vega@6.4.0"), import("npm:vega-lite@6.5.0")]);
  const warnings: string[] = [];
  const collect = (...args: unknown[]) => warnings.push(args.map(String).join(" "));
  const vlLogger = {
    level: (_?: number) => vlLogger as never,
    warn: (...a: unknown[]) => (collect(...a), vlLogger as never),
    info: () => vlLogger as never,
    debug: () => vlLogger as never,
    error: (...a: unknown[]) => {
      throw new Error(`Cannot compile the Vega-Lite spec: ${a.map(String).join(" ")}`);
    },
  };
  // Vega tags the data objects it ingests (Symbol(vega_id)); compile a copy so the caller's spec stays clean.
  const compiled = vl.compile(structuredClone(spec), { logger: vlLogger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Warn });
  view.logger({
    level: () => view as never,
    error: (...a: unknown[]) => collect("error:", ...a),
    warn: (...a: unknown[]) => collect(...a),
    info: () => {},
    debug: () => {},
  } as never);
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}

/** Options of `svgToPng`. */
export interface PngOptions {
  /** Pixels per SVG unit (default 1). */
  scale?: number;
}

/**
 * Rasterize an SVG with resvg (system fonts, DejaVu Sans as the sans-serif face). Throws if the napi module
 * cannot load on this platform; callers that can do without a PNG catch that.
 * @example
 * ```ts
 * import { svgToPng } from "./render.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
 * console.log(png[1], png[2], png[3]); // 80 78 71
 * ```
 */
export async function svgToPng(svg: string, opts: PngOptions = {}): Promise<Uint8Array> {
  const { Resvg } = await import("npm:@resvg/resvg-js@2.6.2");
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: opts.scale ?? 1 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return new Uint8Array(resvg.render().asPng());
}

/**
 * Whether a Vega SVG draws any data mark (an empty figure has axes but no path, rect, symbol or text inside a
 * `role-mark` group). Used to fail notebooks that display an empty plot.
 */
export function svgHasMarks(svg: string): boolean {
  const groups = svg.matchAll(/<g class="mark-[\w-]+ role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g);
  for (const [, inner] of groups) {
    if (/<(path|rect|line|circle|text|image)\b/.test(inner)) return true;
  }
  return false;
}
