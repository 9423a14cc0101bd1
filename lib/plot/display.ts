/**
 * Showing figures and tables in a Deno Jupyter kernel: the only file that touches `Deno.jupyter`.
 *
 * `await show(x)` publishes a figure (Vega-Lite spec or Plotly figure) or a Markdown table/text (`md\`…\``) as a
 * display_data message and then waits until the message has reached the frontend (`flushOutputs`), so stock
 * `jupyter nbconvert --execute` keeps it. A cell's last expression (an execute_result), an unawaited display or a
 * trailing `console.log` can instead arrive after the kernel reports idle and be dropped (NOTEBOOKS.md; the
 * mechanism is in `_iopub.ts`).
 *
 * What a figure carries, and why:
 * - the interactive entry JupyterLab renders: `application/vnd.vegalite.v5+json` or
 *   `application/vnd.plotly.v1+json`. Our specs are compiled here with vega-lite 6.5, but the v5 type is sent on
 *   purpose: JupyterLab 4's built-in renderer registers only vegalite v3–v5 (it bundles vega-lite 5) and no
 *   frontend we know renders a v6 type, so a v6 entry would show nowhere. The builders use no v6-only feature,
 *   and `$schema` is rewritten to v5 so the entry is self-consistent;
 * - `image/png` at twice the pixel density, displayed at most `maxWidth` (800) CSS pixels wide: nbconvert HTML,
 *   GitHub and the classic Notebook show it. No `image/svg+xml` by default: Debian's nbconvert 6.5 prefers SVG
 *   over PNG and then strips the SVG's contents, leaving a blank box;
 * - `text/plain`: a one-line description, plus `warning: …` lines for Vega warnings and empty figures (the
 *   notebook checker fails on those).
 *
 * A Markdown table or text carries `text/markdown`, `text/html` (so it renders untrusted and in nbconvert) and
 * `text/plain` (the Markdown source). Outside a kernel nothing is shown and `saveFigure` writes files.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { type Figure, isPlotlyFigure, renderSvg, svgHasMarks, svgToPng } from "./render.ts";
import { saveFigure, type SaveOptions } from "./save.ts";
import { markdownToHtml } from "./markdown.ts";
import { kernelIopubAddress, waitForIopub } from "./_iopub.ts";

/** The key a Deno kernel looks for on a value to display it (`Deno.jupyter.$display`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** MIME type → data, as Jupyter's display_data carries it (PNG as base64). */
export type MimeBundle = Record<string, string | object>;

/** A display_data message's content: the bundle and per-type metadata (the PNG's display size). */
export interface DisplayContent {
  /** MIME type → data. */
  data: MimeBundle;
  /** MIME type → metadata, e.g. `{"image/png": {width, height}}`. */
  metadata: Record<string, Record<string, unknown>>;
}

/** The Vega-Lite v5 schema URL written into the interactive MIME entry. */
export const VEGALITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** The widest a figure is shown, in CSS pixels (a classic Notebook cell is about 850 px wide). */
export const MAX_FIGURE_WIDTH = 800;

/** Options of `mimeBundle`, `figure`, `display` and `show`. */
export interface BundleOptions {
  /** Add an `image/png` fallback (default true; left out, not thrown, if resvg cannot load). */
  png?: boolean;
  /** PNG pixels per CSS pixel (default 2, sharp on high-density screens). */
  pngScale?: number;
  /** Widest display size in CSS pixels (default `MAX_FIGURE_WIDTH`); wider figures are shown scaled down. */
  maxWidth?: number;
  /** Also carry `image/svg+xml` (default false: stock nbconvert 6.5 would show it as a blank box). */
  svg?: boolean;
  /** For a Plotly figure: the Vega-Lite spec its static image is drawn from (default: `plotlyToVegaLite`). */
  fallback?: TopLevelSpec;
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

/** The `width`/`height` attributes of an SVG's root element. */
function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\s${name}="([\\d.]+)"`).exec(root)?.[1] ?? NaN);
  return { width: attr("width"), height: attr("height") };
}

/**
 * A figure's display_data content: the interactive entry, a PNG (base64) shown at most `maxWidth` wide, and
 * text/plain (with `warning:` lines for Vega warnings and for a figure with no data marks).
 */
export async function figureContent(fig: Figure, opts: BundleOptions = {}): Promise<DisplayContent> {
  const plotly = isPlotlyFigure(fig);
  const { svg, warnings } = await renderSvg(plotly && opts.fallback ? opts.fallback : fig);
  if (!svgHasMarks(svg)) warnings.push("the figure is empty (axes but no data marks)");
  const data: MimeBundle = plotly
    ? { "application/vnd.plotly.v1+json": fig }
    : { "application/vnd.vegalite.v5+json": { ...fig, $schema: VEGALITE_V5_SCHEMA } };
  const metadata: DisplayContent["metadata"] = {};
  if (opts.svg) data["image/svg+xml"] = svg;
  if (opts.png ?? true) {
    const size = svgSize(svg);
    const cssWidth = Math.min(size.width, opts.maxWidth ?? MAX_FIGURE_WIDTH);
    const ok = cssWidth > 0 && size.height > 0;
    const zoom = ok ? (opts.pngScale ?? 2) * cssWidth / size.width : opts.pngScale ?? 2;
    try {
      data["image/png"] = base64(await svgToPng(svg, { scale: zoom }));
      if (ok) {
        metadata["image/png"] = {
          width: Math.round(cssWidth),
          height: Math.round(size.height * cssWidth / size.width),
        };
      }
    } catch {
      // resvg's native module is missing on this platform: the interactive entry still shows in JupyterLab.
    }
  }
  const kind = plotly ? "Plotly" : "Vega-Lite";
  data["text/plain"] = [`<${kind} figure: ${titleOf(fig)}>`, ...warnings.map((w) => `warning: ${w}`)].join("\n");
  return { data, metadata };
}

/**
 * The MIME bundle of a figure (see `figureContent`).
 * @example
 * ```ts
 * import { mimeBundle } from "./display.ts";
 * const b = await mimeBundle({ title: "t", data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * console.log(Object.keys(b).join(" "));
 * // application/vnd.vegalite.v5+json image/png text/plain
 * ```
 */
export async function mimeBundle(fig: Figure, opts: BundleOptions = {}): Promise<MimeBundle> {
  return (await figureContent(fig, opts)).data;
}

/** Markdown text (a table, a list, sentences) that displays as Markdown, HTML and plain text. */
export interface Markdown {
  /** The Markdown source. */
  readonly markdown: string;
  /** Called by a kernel for a cell's last expression (prefer `await show(...)`, which is never dropped). */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** The bundle of Markdown text: `text/markdown`, `text/html` (for untrusted and nbconvert views), `text/plain`. */
export function markdownBundle(markdown: string): MimeBundle {
  return { "text/markdown": markdown, "text/html": markdownToHtml(markdown), "text/plain": markdown };
}

/**
 * Markdown from a template literal, like `Deno.jupyter.md` but usable anywhere and shown with `show`.
 * @example
 * ```ts
 * import { md } from "./display.ts";
 * const t = md`| run | loss |\n|---|---|\n| a | ${(1.23456).toFixed(2)} |`;
 * console.log(t.markdown.split("\n")[2]); // | a | 1.23 |
 * ```
 */
export function md(strings: TemplateStringsArray, ...values: unknown[]): Markdown {
  const markdown = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ""), "");
  return { markdown, [JUPYTER_DISPLAY]: () => markdownBundle(markdown) };
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
 * Wrap a figure so that a cell ending in it shows it (the kernel calls `[Symbol.for("Jupyter.display")]`). In
 * notebooks meant for headless runs prefer `await show(spec)`: a last expression can be dropped by nbconvert.
 * @example
 * ```ts
 * import { figure, JUPYTER_DISPLAY } from "./display.ts";
 * const fig = figure({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * const bundle = await fig[Symbol.for("Jupyter.display") as typeof JUPYTER_DISPLAY]();
 * console.log("image/png" in bundle); // true
 * ```
 */
export function figure(spec: Figure, opts: BundleOptions = {}): FigureHandle {
  return {
    spec,
    [JUPYTER_DISPLAY]: () => mimeBundle(spec, opts),
    save: (path, saveOpts) => saveFigure(spec, path, saveOpts),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wait until every output this cell has published so far (displays, `console.log`) has been sent to the
 * frontend, so that stock nbclient, which stops reading at the kernel's idle status, keeps them. Resolves true
 * when confirmed through the kernel's IOPub socket, false (after a short pause) where it cannot be reached;
 * outside a kernel it resolves true at once. `flushOutputs` is the same without a value.
 */
export async function confirmOutputs(): Promise<boolean> {
  if (!inJupyter()) return true;
  const addr = await kernelIopubAddress();
  const ok = addr !== null && await waitForIopub(addr, (marker) => {
    // A busy status while the cell is busy: nbclient and JupyterLab ignore it; the marker rides in its metadata.
    void Deno.jupyter.broadcast("status", { execution_state: "busy" }, { metadata: { nk_flush: marker } });
  });
  if (!ok) await sleep(100);
  return ok;
}

/**
 * Wait until this cell's outputs so far have reached the frontend (see `confirmOutputs`). `show` and `display`
 * call it; end a cell whose last output is a `console.log` with `await flushOutputs();` (it resolves to nothing,
 * so it adds no output of its own).
 */
export async function flushOutputs(): Promise<void> {
  await confirmOutputs();
}

/**
 * Show a figure or a Markdown table/text now (also mid-cell, inside loops), and wait until it has reached the
 * frontend (`flushOutputs`). Outside a kernel it does nothing (use `saveFigure` there). Resolves to nothing, so
 * `await show(...)` as a cell's last line adds no execute_result.
 * @example
 * ```ts
 * import { md, show } from "./display.ts";
 * await show({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * await show(md`| a |\n|---|\n| 1 |`);
 * ```
 */
export async function show(item: Figure | Markdown | string, opts: BundleOptions = {}): Promise<void> {
  if (!inJupyter()) return;
  const content = typeof item === "string"
    ? { data: markdownBundle(item), metadata: {} }
    : isMarkdown(item)
    ? { data: markdownBundle(item.markdown), metadata: {} }
    : await figureContent(item, opts);
  void Deno.jupyter.broadcast("display_data", { ...content, transient: {} });
  await flushOutputs();
}

function isMarkdown(x: unknown): x is Markdown {
  return typeof x === "object" && x !== null && typeof (x as Markdown).markdown === "string" &&
    JUPYTER_DISPLAY in (x as object);
}

/**
 * Show a figure now: `show` for figures (kept for notebooks and scripts written against it).
 * @example
 * ```ts
 * import { display } from "./display.ts";
 * await display({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 * ```
 */
export async function display(spec: Figure, opts: BundleOptions = {}): Promise<void> {
  await show(spec, opts);
}
