/**
 * Writing figures to files outside a notebook: SVG, PNG, the spec as JSON, or a self-contained offline HTML page
 * with the SVG inline (no scripts, no network).
 * @module
 */
import { type Figure, isPlotlyFigure, renderSvg, svgToPng } from "./render.ts";

/** Options of `saveFigure`. */
export interface SaveOptions {
  /** PNG pixels per SVG unit (default 2, for sharp images in documents). */
  pngScale?: number;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * Save a figure; the extension picks the format: `.svg`, `.png`, `.json` (the Vega-Lite spec or Plotly figure)
 * or `.html` (offline page, SVG inline).
 * @example
 * ```ts
 * import { saveFigure } from "./save.ts";
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await saveFigure({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } }, path);
 * console.log((await Deno.readTextFile(path)).startsWith("<svg")); // true
 * ```
 */
export async function saveFigure(fig: Figure, path: string, opts: SaveOptions = {}): Promise<void> {
  const ext = /\.(svg|png|json|html?)$/i.exec(path)?.[1].toLowerCase();
  if (!ext) {
    throw new Error(`Cannot save a figure as "${path}": expected a path ending in .svg, .png, .json or .html`);
  }
  if (ext === "json") return Deno.writeTextFile(path, JSON.stringify(fig, null, 2) + "\n");
  const { svg } = await renderSvg(fig);
  if (ext === "svg") return Deno.writeTextFile(path, svg);
  if (ext === "png") return Deno.writeFile(path, await svgToPng(svg, { scale: opts.pngScale ?? 2 }));
  const t = isPlotlyFigure(fig) ? fig.layout?.title : (fig as { title?: unknown }).title;
  const title = typeof t === "string" ? t : (t as { text?: string } | undefined)?.text ?? "Figure";
  const html = `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
    `<style>body{margin:16px;font-family:sans-serif;background:#fff}</style></head>\n<body>\n${svg}\n</body>\n</html>\n`;
  await Deno.writeTextFile(path, html);
}
