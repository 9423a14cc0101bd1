/**
 * The LR-stability test of paper Fig. 5: the learning rate rises by a fixed step each update until training
 * destabilizes. `lrRampCurves` draws each run's loss with the explosion step of `lib/metrics/analysis.ts`
 * marked, so the plot and the notebook's table agree.
 * @module
 */
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";
import { explosionStep } from "../metrics/analysis.ts";
import type { TrainRecord } from "../metrics/records.ts";
import { checkRuns, LEGEND, type Run, SCHEMA } from "./_records.ts";

/** Options of `lrRampCurves`. */
export interface LrRampOptions {
  /** A loss above `factor` × the running minimum is an explosion (default 1.5, as `explosionStep`). */
  factor?: number;
  /** Losses in the first `after` steps never count as explosions (default 20, as `explosionStep`). */
  after?: number;
  /** Top of the y axis; larger losses are clipped (default 1.5 × the largest first loss). */
  yMax?: number;
}

/**
 * Loss against step for LR-ramp runs, one line per run, with a dashed rule and a marker at each run's
 * explosion step (`explosionStep` of lib/metrics/analysis.ts: a non-finite loss, or a loss above `factor` × the
 * running minimum after `after` steps). A skipped non-finite step is marked at the top of the axis.
 * @example
 * ```ts
 * import { lrRampCurves } from "./ramp.ts";
 * const records = [5, 4, 9].map((loss, i) => ({
 *   kind: "train" as const, step: i + 1, tokens: 0, flops: 0, time: 0, lr: 5e-5 * (i + 1), loss, gradNorm: 1,
 * }));
 * const spec = lrRampCurves([{ name: "baseline", records }], { after: 1 });
 * console.log("layer" in spec && spec.layer.length); // 3 (loss lines, explosion rules, markers)
 * ```
 */
export function lrRampCurves(runs: readonly Run[], opts: LrRampOptions = {}): TopLevelSpec {
  checkRuns(runs, "LR ramp curves");
  const factor = opts.factor ?? 1.5, after = opts.after ?? 20;
  if (!(factor > 1)) throw new Error(`Invalid explosion factor ${factor}: expected a number > 1`);
  const train = runs.map((run) => ({
    run,
    recs: run.records.filter((r): r is TrainRecord => r.kind === "train"),
  }));
  const firsts = train.flatMap(({ recs }) => recs.slice(0, 1).map((r) => r.loss)).filter(Number.isFinite);
  if (firsts.length === 0) throw new Error("Cannot plot LR ramp curves: no run has a finite train loss");
  const yMax = opts.yMax ?? 1.5 * Math.max(...firsts);
  const rows: { run: string; step: number; loss: number; lr: number; type: "loss" | "explosion" }[] = [];
  for (const { run, recs } of train) {
    for (const r of recs) {
      if (Number.isFinite(r.loss) && !r.skipped) {
        rows.push({ run: run.name, step: r.step, loss: r.loss, lr: r.lr, type: "loss" });
      }
    }
    const at = explosionStep(recs, factor, after);
    const r = recs.find((x) => x.step === at);
    if (r) {
      const loss = Number.isFinite(r.loss) ? Math.min(r.loss, yMax) : yMax;
      rows.push({ run: run.name, step: r.step, loss, lr: r.lr, type: "explosion" });
    }
  }
  const color = { field: "run", type: "nominal" as const, title: "Run", sort: runs.map((r) => r.name), legend: LEGEND };
  const x = { field: "step", type: "quantitative" as const, title: "Step (updates; LR rises each step)" };
  const y = {
    field: "loss",
    type: "quantitative" as const,
    title: "Train loss (nats/token)",
    scale: { domainMax: yMax, zero: false },
  };
  const only = (t: string) => [{ filter: `datum.type === '${t}'` }];
  const tooltip = [{ field: "run" }, { field: "step" }, { field: "lr", format: ".2e" }, {
    field: "loss",
    format: ".3f",
  }];
  return {
    $schema: SCHEMA,
    title: {
      text: "LR ramp: loss until explosion",
      subtitle: `markers: first unstable update (non-finite, or loss > ${factor} × running min after step ${after})`,
    },
    width: 480,
    height: 300,
    data: { values: rows },
    layer: [
      { transform: only("loss"), mark: { type: "line", clip: true }, encoding: { x, y, color, tooltip } },
      // Layers with no rows make Vega warn about an infinite extent: add the markers only if a run exploded.
      ...(rows.some((r) => r.type === "explosion")
        ? [
          {
            transform: only("explosion"),
            mark: { type: "rule" as const, strokeDash: [4, 3] },
            encoding: { x, color },
          },
          {
            transform: only("explosion"),
            mark: {
              type: "point" as const,
              shape: "triangle-down",
              filled: true,
              size: 120,
              stroke: "black",
              strokeWidth: 0.5,
            },
            encoding: { x, y, color, tooltip },
          },
        ]
        : []),
    ],
  };
}
