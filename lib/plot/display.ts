/**
 * Showing figures in a Deno Jupyter kernel: the only file that touches `Deno.jupyter`. A figure becomes a MIME
 * bundle with the interactive type JupyterLab renders (`application/vnd.vegalite.v5+json`, `$schema` rewritten to
 * v5 since JupyterLab's renderer registers no v6 type; or `application/vnd.plotly.v1+json`) plus static
 * `image/svg+xml` and `image/png` fallbacks for nbconvert HTML and GitHub, which render neither interactive type.
 * Outside a kernel nothing is emitted and the same objects save files (`saveFigure`, `figure(spec).save(path)`).
 * @module
 */
import { type Figure, isPlotlyFigure, renderSvg, svgToPng } from "./render.ts";
import { saveFigure, type SaveOptions } from "./save.ts";

/** The key a Deno kernel looks for on a value to display it (`Deno.jupyter.$display`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** MIME type → data, as Jupyter's display_data carries it (PNG as base64). */
export type MimeBundle = Record<string, string | object>;

/** The Vega-Lite v5 schema URL written into the interactive MIME entry. */
export const VEGALITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Options of `mimeBundle`, `figure` and `display`. */
export interface BundleOptions {
  /** Add an `image/png` fallback (default true; left out, not thrown, if resvg cannot load). */
  png?: boolean;
  /** PNG pixels per SVG unit (default 1, so the PNG shows at the SVG's size). */
  pngScale?: number;
}

/** Whether this code runs inside a Deno Jupyter kernel (outside one, even `typeof Deno.jupyter` throws). */
export function inJupyter(): boolean {
  try {
    return typeof Deno.jupyter?.display === "function";
  } catch {
    return false;
  }
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function titleOf(fig: Figure): string {
  const t = isPlotlyFigure(fig) ? fig.layout?.title : (fig as { title?: unknown }).title;
  if (typeof t === "string") return t;
  const text = (t as { text?: unknown } | undefined)?.text;
  return typeof text === "string" ? text : "untitled";
}

/**
 * The MIME bundle of a figure: the interactive entry, SVG, PNG (base64) and a text/plain line that also lists
 * any Vega warnings.
 * @example
 * ```ts
 * import { mimeBundle } from "./display.ts";
 * const b = await mimeBundle({ title: "t", data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * console.log(Object.keys(b).join(" "));
 * // application/vnd.vegalite.v5+json image/svg+xml image/png text/plain
 * ```
 */
export async function mimeBundle(fig: Figure, opts: BundleOptions = {}): Promise<MimeBundle> {
  const { svg, warnings } = await renderSvg(fig);
  const bundle: MimeBundle = isPlotlyFigure(fig)
    ? { "application/vnd.plotly.v1+json": fig }
    : { "application/vnd.vegalite.v5+json": { ...fig, $schema: VEGALITE_V5_SCHEMA } };
  bundle["image/svg+xml"] = svg;
  if (opts.png ?? true) {
    try {
      bundle["image/png"] = base64(await svgToPng(svg, { scale: opts.pngScale }));
    } catch {
      // resvg's native module is missing on this platform: the SVG fallback is enough for nbconvert.
    }
  }
  const kind = isPlotlyFigure(fig) ? "Plotly" : "Vega-Lite";
  bundle["text/plain"] = [`<${kind} figure: ${titleOf(fig)}>`, ...warnings.map((w) => `warning: ${w}`)].join("\n");
  return bundle;
}

/** A figure that displays itself as the last expression of a cell and saves itself anywhere. */
export interface FigureHandle {
  /** The Vega-Lite spec or Plotly figure. */
  readonly spec: Figure;
  /** Called by the kernel to get the MIME bundle. */
  [JUPYTER_DISPLAY](): Promise<MimeBundle>;
  /** Write .svg, .png, .json or .html (see `saveFigure`). */
  save(path: string, opts?: SaveOptions): Promise<void>;
}

/**
 * Wrap a figure so that a cell ending in it shows it (the kernel calls `[Symbol.for("Jupyter.display")]`).
 * @example
 * ```ts
 * import { figure, JUPYTER_DISPLAY } from "./display.ts";
 * const fig = figure({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * const bundle = await fig[Symbol.for("Jupyter.display") as typeof JUPYTER_DISPLAY]();
 * console.log("image/svg+xml" in bundle); // true
 * ```
 */
export function figure(spec: Figure, opts: BundleOptions = {}): FigureHandle {
  return {
    spec,
    [JUPYTER_DISPLAY]: () => mimeBundle(spec, opts),
    save: (path, saveOpts) => saveFigure(spec, path, saveOpts),
  };
}

/**
 * Show a figure now (also mid-cell, inside loops). In a kernel it emits a display_data message and then yields
 * once to the event loop, which keeps the message ahead of the cell's idle status (a Deno 2.9 kernel can publish
 * outputs after idle; see NOTEBOOKS.md). Outside a kernel it does nothing (use `saveFigure` there). Resolves to
 * nothing, so `await display(...)` as a cell's last line adds no second output.
 * @example
 * ```ts
 * import { display } from "./display.ts";
 * await display({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * ```
 */
export async function display(spec: Figure, opts: BundleOptions = {}): Promise<void> {
  if (!inJupyter()) return;
  await Deno.jupyter.display(await mimeBundle(spec, opts), { raw: true });
  await new Promise((resolve) => setTimeout(resolve, 0));
}
