/**
 * Private helpers of the plot builders: picking records out of runs, x axes, smoothing and layer parsing.
 * @module
 */
import type { EvalRecord, RunRecord, TrainRecord } from "../metrics/records.ts";

/** A named run: its metrics records (as `parseRecords` reads them from metrics.jsonl). */
export interface Run {
  /** Legend label of the run. */
  name: string;
  /** The run's records, in the order they were written. */
  records: readonly RunRecord[];
}

/** Which record field a plot puts on its x axis. */
export type XField = "step" | "tokens" | "flops" | "time";

/** Axis titles with units, one per x field. */
export const X_TITLES: Readonly<Record<XField, string>> = {
  step: "Step (updates)",
  tokens: "Training tokens",
  flops: "Training compute (FLOPs)",
  time: "Training time (s)",
};

/** Axis of an x field: SI prefixes for the large counts ("40k", "1.5G"; plain "0", where vega would write "0k"). */
export function xAxis(x: XField): { labelExpr?: string } {
  return x === "tokens" || x === "flops" ? { labelExpr: "datum.value === 0 ? '0' : format(datum.value, '~s')" } : {};
}

/** The vega-lite schema the builders write (display.ts rewrites it to v5 for JupyterLab). */
export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Train records that were applied (not skipped) with a finite loss. */
export function trainRecords(records: readonly RunRecord[]): TrainRecord[] {
  return records.filter((r): r is TrainRecord => r.kind === "train" && !r.skipped && Number.isFinite(r.loss));
}

/** Eval records of one split. */
export function evalRecords(records: readonly RunRecord[], split: EvalRecord["split"]): EvalRecord[] {
  return records.filter((r): r is EvalRecord => r.kind === "eval" && r.split === split);
}

/** Throw unless `runs` is a non-empty array of uniquely named runs. */
export function checkRuns(runs: readonly Run[], what: string): void {
  if (!Array.isArray(runs) || runs.length === 0) throw new Error(`Cannot plot ${what}: no runs were given`);
  const seen = new Set<string>();
  for (const run of runs) {
    if (typeof run?.name !== "string" || !Array.isArray(run.records)) {
      throw new Error(
        `Cannot plot ${what}: each run must be {name, records}, got ${JSON.stringify(run)?.slice(0, 60)}`,
      );
    }
    if (seen.has(run.name)) throw new Error(`Cannot plot ${what}: two runs are named "${run.name}"`);
    seen.add(run.name);
  }
}

/** Throw unless `x` is a record field a plot can use. */
export function checkX(x: string, allowed: readonly XField[], what: string): void {
  if (!allowed.includes(x as XField)) {
    throw new Error(`Cannot plot ${what} against x "${x}": expected one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
  }
}

// Trailing moving average (a smoothed curve never looks ahead of its step), shared with the analyses.
export { movingAverage } from "../metrics/analysis.ts";

/** Split a fairseq layer parameter name into its layer index and kind (`decoder.layers.3.fc2.weight` → 3, "fc2.weight"). */
export function parseLayerParam(name: string): { layer: number; kind: string } | null {
  const m = /^decoder\.layers\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), kind: m[2] } : null;
}

/** Describe a sorted list of layer indices compactly ("0–11", or "0, 2, 5"). */
export function describeLayers(layers: readonly number[]): string {
  if (layers.length === 0) return "none";
  const contiguous = layers.every((l, i) => i === 0 || l === layers[i - 1] + 1);
  return contiguous && layers.length > 2 ? `${layers[0]}–${layers[layers.length - 1]}` : layers.join(", ");
}

/** Legend of run labels: long labels ("NormFormer, lr 3e-3, seed 1") shown whole. */
export const LEGEND = { labelLimit: 0 } as const;
