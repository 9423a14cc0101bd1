/**
 * Loss and perplexity plots: the training curve of one or more runs against step, tokens, FLOPs or time, and
 * validation perplexity against compute on a log axis (the paper's "same perplexity in less compute" comparisons).
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import type { EvalRecord } from "../metrics/records.ts";
import {
  checkRuns,
  checkX,
  evalRecords,
  LEGEND,
  movingAverage,
  type Run,
  SCHEMA,
  trainRecords,
  X_TITLES,
  xAxis,
  type XField,
} from "./_records.ts";

/** Options of `lossCurve`. */
export interface LossCurveOptions {
  /** Record field on the x axis (default "step"). */
  x?: XField;
  /** Evaluation split drawn as points (default "valid"; null draws none). */
  split?: EvalRecord["split"] | null;
  /** Moving-average window of the train loss in records (default: about 1/20 of the run, at most 50). */
  smooth?: number;
  /** Log-scale y axis (default false). */
  logY?: boolean;
  /** Keep at most this many train points per run after smoothing (default 2000). */
  maxPoints?: number;
  /** Title (default "Training loss"). */
  title?: string;
}

/** One row of a loss curve's data. */
export interface LossRow {
  /** Run name. */
  run: string;
  /** Raw or smoothed train loss, or an eval split. */
  series: "train (raw)" | "train" | "valid" | "test";
  /** The x field's value (step, tokens, FLOPs or seconds). */
  x: number;
  /** Loss in nats per token. */
  loss: number;
  /** Update index. */
  step: number;
}

/** The rows `lossCurve` draws (also used by the Plotly builder). */
export function lossRows(runs: readonly Run[], opts: LossCurveOptions = {}): LossRow[] {
  const x = opts.x ?? "step";
  const split = opts.split === undefined ? "valid" : opts.split;
  checkRuns(runs, "a loss curve");
  checkX(x, ["step", "tokens", "flops", "time"], "a loss curve");
  const rows: LossRow[] = [];
  for (const run of runs) {
    const train = trainRecords(run.records);
    const window = opts.smooth ?? Math.min(50, Math.max(1, Math.round(train.length / 20)));
    const smooth = movingAverage(train.map((r) => r.loss), window);
    const every = Math.max(1, Math.ceil(train.length / (opts.maxPoints ?? 2000)));
    train.forEach((r, i) => {
      if (i % every !== 0 && i !== train.length - 1) return;
      rows.push({ run: run.name, series: "train (raw)", x: r[x], loss: r.loss, step: r.step });
      rows.push({ run: run.name, series: "train", x: r[x], loss: smooth[i], step: r.step });
    });
    if (split) {
      for (const r of evalRecords(run.records, split)) {
        if (Number.isFinite(r.loss)) rows.push({ run: run.name, series: split, x: r[x], loss: r.loss, step: r.step });
      }
    }
  }
  if (!rows.some((r) => r.series === "train")) {
    throw new Error(
      `Cannot plot a loss curve: no run has train records (runs ${runs.map((r) => `"${r.name}"`).join(", ")})`,
    );
  }
  return rows;
}

/**
 * Train loss (moving average over a faint raw line) and evaluation loss points for each run.
 * @example
 * ```ts
 * import { lossCurve } from "./loss.ts";
 * const records = [1, 2, 3].map((step) => ({
 *   kind: "train" as const, step, tokens: 512 * step, flops: 1e9 * step, time: step, lr: 1e-3, loss: 5 / step,
 *   gradNorm: 1,
 * }));
 * const spec = lossCurve([{ name: "tiny", records }], { x: "tokens" });
 * console.log("layer" in spec && spec.layer.length); // 3 (raw train, smoothed train, eval points)
 * ```
 */
export function lossCurve(runs: readonly Run[], opts: LossCurveOptions = {}): TopLevelSpec {
  const x = opts.x ?? "step";
  const rows = lossRows(runs, opts);
  const xEnc = { field: "x", type: "quantitative" as const, title: X_TITLES[x], axis: xAxis(x) };
  const yEnc = {
    field: "loss",
    type: "quantitative" as const,
    title: "Cross-entropy (nats/token)",
    scale: opts.logY ? { type: "log" as const } : { zero: false },
  };
  const color = {
    field: "run",
    type: "nominal" as const,
    title: "Run",
    sort: runs.map((r) => r.name),
    legend: { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 3, labelLimit: 0 },
  };
  const only = (s: string) => [{ filter: `datum.series === '${s}'` }];
  const tooltip = [{ field: "run" }, { field: "step" }, { field: "loss", format: ".4f" }];
  const evalLayer = {
    transform: [{ filter: "datum.series === 'valid' || datum.series === 'test'" }],
    mark: { type: "point" as const, filled: true, size: 60, stroke: "black", strokeWidth: 0.5 },
    encoding: {
      x: xEnc,
      y: yEnc,
      color,
      shape: { field: "series", type: "nominal" as const, title: "Eval split" },
      tooltip,
    },
  };
  return {
    $schema: SCHEMA,
    title: { text: opts.title ?? "Training loss", subtitle: "lines: train loss (moving average); points: eval loss" },
    width: 480,
    height: 300,
    data: { values: rows },
    layer: [
      {
        transform: only("train (raw)"),
        mark: { type: "line", opacity: 0.2, strokeWidth: 1 },
        encoding: { x: xEnc, y: yEnc, color },
      },
      {
        transform: only("train"),
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x: xEnc, y: yEnc, color, tooltip },
      },
      // Layers with no rows make Vega warn about an infinite extent: add the eval points only if there are some.
      ...(rows.some((r) => r.series === "valid" || r.series === "test") ? [evalLayer] : []),
    ],
  };
}

/** Options of `perplexityVsCompute`. */
export interface PerplexityVsComputeOptions {
  /** Compute measure on the (log) x axis (default "flops"). */
  x?: "flops" | "tokens" | "time";
  /** Plot the loss (nats per token) instead of the perplexity (default false). */
  loss?: boolean;
  /** Evaluation split (default "valid"). */
  split?: EvalRecord["split"];
  /** Log-scale y axis (default false). */
  logY?: boolean;
}

/**
 * Evaluation perplexity against training compute (FLOPs or seconds) on a log x axis, one line per run.
 * Evaluations at zero compute (before the first update) are left out, as log axes cannot show them.
 * @example
 * ```ts
 * import { perplexityVsCompute } from "./loss.ts";
 * const records = [1, 2].map((i) => ({
 *   kind: "eval" as const, split: "valid" as const, step: 50 * i, tokens: 1e4 * i, flops: 1e12 * i, time: 9 * i,
 *   loss: 3 / i, ppl: Math.exp(3 / i), bpb: 4 / i,
 * }));
 * const spec = perplexityVsCompute([{ name: "nf", records }]);
 * console.log("mark" in spec); // true
 * ```
 */
export function perplexityVsCompute(runs: readonly Run[], opts: PerplexityVsComputeOptions = {}): TopLevelSpec {
  const x = opts.x ?? "flops";
  const split = opts.split ?? "valid";
  checkRuns(runs, "perplexity vs compute");
  checkX(x, ["flops", "tokens", "time"], "perplexity vs compute");
  const rows = runs.flatMap((run) =>
    evalRecords(run.records, split)
      .filter((r) => r[x] > 0 && Number.isFinite(r.ppl))
      .map((r) => ({ run: run.name, x: r[x], ppl: opts.loss ? r.loss : r.ppl, step: r.step }))
  );
  if (rows.length === 0) {
    throw new Error(
      `Cannot plot perplexity vs compute: no run has "${split}" eval records after the first update; ` +
        "train with evalEvery > 0",
    );
  }
  return {
    $schema: SCHEMA,
    title: {
      text: `${opts.loss ? "Loss" : "Perplexity"} vs ${
        x === "time" ? "wall time" : x === "tokens" ? "tokens" : "compute"
      }`,
      subtitle: `${split} ${
        opts.loss ? "loss" : "perplexity"
      }; x on a log scale, from the first evaluation after step 0`,
    },
    width: 480,
    height: 300,
    data: { values: rows },
    mark: { type: "line", point: { filled: true, size: 40 } },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: `${X_TITLES[x]}, log scale`,
        scale: { type: "log", nice: false },
        axis: xAxis(x),
      },
      y: {
        field: "ppl",
        type: "quantitative",
        title: `${split === "valid" ? "Validation" : "Test"} ${opts.loss ? "loss (nats/token)" : "perplexity"}`,
        scale: opts.logY ? { type: "log" } : { zero: false },
      },
      color: { field: "run", type: "nominal", title: "Run", sort: runs.map((r) => r.name), legend: LEGEND },
      tooltip: [{ field: "run" }, { field: "step" }, {
        field: "ppl",
        title: opts.loss ? "loss" : "ppl",
        format: ".4f",
      }],
    },
  };
}
