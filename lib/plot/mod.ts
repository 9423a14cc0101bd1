/**
 * Plots of run records: pure builders that return Vega-Lite specs (and Plotly figures), and the functions that
 * show them in a Deno Jupyter kernel or save them as SVG, PNG, JSON or offline HTML. Builders read plain
 * records, so a notebook can plot a finished run (`parseRecords` of its metrics.jsonl) with no model loaded.
 *
 * @example
 * ```ts
 * import { lossCurve, saveFigure } from "./mod.ts";
 * const records = [1, 2, 3, 4].map((step) => ({
 *   kind: "train" as const, step, tokens: 512 * step, flops: 1e9 * step, time: step, lr: 1e-3, loss: 5 / step,
 *   gradNorm: 1,
 * }));
 * const spec = lossCurve([{ name: "tiny", records }], { x: "tokens", smooth: 2 });
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await saveFigure(spec, path);
 * console.log((await Deno.readTextFile(path)).includes("Training tokens")); // true
 * ```
 * @module
 */
export type { Run, XField } from "./_records.ts";
export type { EvalRecord, RunRecord, ScaleSummary, TrainRecord } from "../metrics/records.ts";
export {
  lossCurve,
  type LossCurveOptions,
  type LossRow,
  lossRows,
  perplexityVsCompute,
  type PerplexityVsComputeOptions,
} from "./loss.ts";
export { type GradNormKind, gradNormPanels, type GradNormPanelsOptions } from "./grads.ts";
export { gradHeatmap, gradHeatmapDomain, type GradHeatmapOptions } from "./grad_heatmap.ts";
export { learnedScaleBoxes, type LearnedScaleBoxesOptions, PAPER_SCALE_MEDIANS, type ScaleMedians } from "./scales.ts";
export { lrRampCurves, type LrRampOptions } from "./ramp.ts";
export { type BarRow, barsWithError, type BarsWithErrorOptions } from "./bars.ts";
export { lrSweep, type SweepPoint } from "./sweep.ts";
export { layerProfiles, type ProfilePoint } from "./profiles.ts";
export {
  gradHeatmapFigure,
  type GroupedRun,
  lossCurveFigure,
  lossExplorerFigure,
  type LossExplorerOptions,
  type PlotlyFigure,
  type PlotlyFigureWithFallback,
  plotlyToVegaLite,
  type PlotlyTrace,
  STATIC_FALLBACK,
} from "./plotly.ts";
export { type Figure, type RenderedSvg, renderSvg, svgHasMarks, svgToPng } from "./render.ts";
export { saveFigure, type SaveOptions } from "./save.ts";
export {
  type BundleOptions,
  confirmOutputs,
  display,
  type DisplayContent,
  figure,
  figureContent,
  type FigureHandle,
  flushOutputs,
  inJupyter,
  JUPYTER_DISPLAY,
  type Markdown,
  markdownBundle,
  MAX_FIGURE_WIDTH,
  md,
  type MimeBundle,
  mimeBundle,
  show,
} from "./display.ts";
export { markdownToHtml } from "./markdown.ts";
