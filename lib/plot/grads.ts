/**
 * The gradient-mismatch plot of paper Fig. 3: for each run (Post-LN, Pre-LN, NormFormer), the norm of one
 * parameter's gradient (fc2.weight by default) per layer against step, smoothed as the paper's curves look.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import type { TrainRecord } from "../metrics/records.ts";
import { checkRuns, describeLayers, movingAverage, parseLayerParam, type Run, SCHEMA } from "./_records.ts";

/** Which gradient norm: L1 is Σ|g| (the paper's Fig. 3), L2 is ‖g‖₂. */
export type GradNormKind = "l1" | "l2";

/** Axis titles of the two norms. */
export const NORM_TITLES: Readonly<Record<GradNormKind, string>> = {
  l1: "Grad norm (L1, Σ|g|)",
  l2: "Grad norm (L2, ‖g‖₂)",
};

/** Options of `gradNormPanels`. */
export interface GradNormPanelsOptions {
  /** Parameter kind within a layer, matched as a suffix of the name after `decoder.layers.N.` (default "fc2.weight"). */
  param?: string;
  /** Layers drawn (default: every layer of the run; the paper draws 0, 1, 6, 10, 11). */
  layers?: readonly number[];
  /** Norm (default "l1", the paper's). */
  norm?: GradNormKind;
  /** Moving-average window in records (default 20; 1 draws the raw values). */
  smooth?: number;
  /** Only steps in [from, to] (the paper shows 250–600). */
  steps?: readonly [number, number];
  /** Log-scale y axis (default false). */
  logY?: boolean;
}

/** Train records carrying per-parameter gradient norms; throws the gradStats hint when there are none. */
export function recordsWithGrads(runs: readonly Run[]): Map<string, TrainRecord[]> {
  const out = new Map<string, TrainRecord[]>();
  for (const run of runs) {
    out.set(
      run.name,
      run.records.filter((r): r is TrainRecord => r.kind === "train" && !r.skipped && r.grads !== undefined),
    );
  }
  if ([...out.values()].every((rs) => rs.length === 0)) {
    throw new Error("Cannot plot grad norms: no record has per-parameter grads; train with gradStats=true");
  }
  return out;
}

/** Map layer index → full parameter name for a kind, from one record's grads (suffix match on the kind). */
export function layerParams(grads: Record<string, unknown>, param: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of Object.keys(grads)) {
    const p = parseLayerParam(name);
    if (p && (p.kind === param || p.kind.endsWith(`.${param}`))) out.set(p.layer, name);
  }
  return out;
}

/** The kinds of layer parameters present in a grads record, for error messages. */
export function paramKinds(grads: Record<string, unknown>): string[] {
  return [...new Set(Object.keys(grads).map((n) => parseLayerParam(n)?.kind).filter((k) => k !== undefined))];
}

/**
 * One panel per run, one line per layer: the chosen gradient norm of `param` against step (paper Fig. 3).
 * The y scale is shared so panels compare directly.
 * @example
 * ```ts
 * import { gradNormPanels } from "./grads.ts";
 * const records = [1, 2, 3].map((step) => ({
 *   kind: "train" as const, step, tokens: 0, flops: 0, time: 0, lr: 1e-3, loss: 5, gradNorm: 1,
 *   grads: { "decoder.layers.0.fc2.weight": [3 * step, 1] as [number, number],
 *            "decoder.layers.1.fc2.weight": [step, 1] as [number, number] },
 * }));
 * const spec = gradNormPanels([{ name: "Pre-LN", records }], { smooth: 2 });
 * console.log("facet" in spec); // true (one panel per run)
 * ```
 */
export function gradNormPanels(runs: readonly Run[], opts: GradNormPanelsOptions = {}): TopLevelSpec {
  const param = opts.param ?? "fc2.weight";
  const norm = opts.norm ?? "l1";
  const smooth = opts.smooth ?? 20;
  if (norm !== "l1" && norm !== "l2") throw new Error(`Invalid norm "${norm}": expected "l1" or "l2"`);
  checkRuns(runs, "grad norms");
  const byRun = recordsWithGrads(runs);
  const rows: { run: string; layer: number; step: number; norm: number }[] = [];
  for (const run of runs) {
    let recs = byRun.get(run.name)!;
    if (opts.steps) recs = recs.filter((r) => r.step >= opts.steps![0] && r.step <= opts.steps![1]);
    if (recs.length === 0) continue;
    const names = layerParams(recs[0].grads!, param);
    if (names.size === 0) {
      throw new Error(
        `Cannot plot grad norms: run "${run.name}" has no layer parameter "${param}"; ` +
          `its kinds are ${paramKinds(recs[0].grads!).join(", ")}`,
      );
    }
    const available = [...names.keys()].sort((a, b) => a - b);
    for (const layer of opts.layers ?? available) {
      const name = names.get(layer);
      if (!name) {
        throw new Error(
          `Cannot plot grad norms: layer ${layer} is not in run "${run.name}" (layers ${describeLayers(available)})`,
        );
      }
      const values = recs.map((r) => r.grads![name]?.[norm === "l1" ? 0 : 1] ?? NaN);
      movingAverage(values, smooth).forEach((v, i) => {
        if (Number.isFinite(v)) rows.push({ run: run.name, layer, step: recs[i].step, norm: v });
      });
    }
  }
  if (rows.length === 0) {
    throw new Error(`Cannot plot grad norms: no record with grads falls in steps ${JSON.stringify(opts.steps)}`);
  }
  return {
    $schema: SCHEMA,
    title: {
      text: `${param} gradient norm by layer`,
      subtitle: smooth > 1 ? `moving average over ${smooth} records` : "raw values",
    },
    data: { values: rows },
    facet: {
      column: { field: "run", type: "nominal", title: null, sort: runs.map((r) => r.name), header: { labelLimit: 0 } },
    },
    spec: {
      width: 260,
      height: 220,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "Step" },
        y: {
          field: "norm",
          type: "quantitative",
          title: NORM_TITLES[norm],
          scale: opts.logY ? { type: "log" } : { zero: true },
        },
        color: { field: "layer", type: "ordinal", title: "Layer", scale: { scheme: "viridis" } },
        tooltip: [{ field: "layer" }, { field: "step" }, { field: "norm", format: ".4g" }],
      },
    },
    resolve: { scale: { y: "shared" } },
  };
}
