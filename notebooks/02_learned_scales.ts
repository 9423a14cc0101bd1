// %% [markdown]
// # The learned scaling parameters (paper Fig. 4)
//
// **Claim.** In a trained NormFormer the FFN-LayerNorm gains are small in early layers and grow with depth
// ("earlier layers receive downscaled inputs, keeping their gradients in the same range as the gradients of later
// layers"); the post-attention-LN gains are below 1 in every layer; the HeadScale values "vary more than the
// others, and have no relationship with depth" (p. 6–7).
//
// **Paper's numbers (≈ medians, layers 0–11).** FFN LN .22 → .89 rising steadily; post-attn LN .14–.37; HeadScale
// .72–1.11. They come from the released 125M run: 572,204 updates at a peak lr of 3e-3.
//
// **What this budget can test.** The gains start at 1 and move only as far as the optimiser lets them: the sum of
// the learning rates over a run bounds that distance. We compare that sum with the paper's run, show the gains of
// our highest-LR S6 NormFormer runs (`perplexity_vs_compute`, lr 1e-2, 3 seeds: the largest Σlr we trained), and
// keep the 12-layer T0 run of `data/experiments/learned_scales.json` (with and without weight decay on the scales).
// No claim goes beyond what the records show.

// %%
import * as plot from "../lib/plot/mod.ts";
import { finalValidLoss, meanStd, scaleMedians, sumLr, sumLrOfSchedule } from "../lib/metrics/analysis.ts";
import { PAPER_125M_SCHEDULE, PAPER_SCALE_MEDIANS } from "../lib/metrics/paper.ts";
import type { EvalRecord, RunRecord } from "../lib/metrics/records.ts";
import { readResults } from "../lib/train/experiment.ts";
import { describeRun, fmtLr, notebookSetup, runsWhere, valuesOf } from "./_setup.ts";

const { quick, rerunRequested, results, rerun } = await notebookSetup("learned_scales");
const t0 = await readResults(results);
const pvc = await readResults(results.replace(/learned_scales$/, "perplexity_vs_compute"));
const paperSum = sumLrOfSchedule(PAPER_125M_SCHEDULE);
const lastScales = (records: RunRecord[]) =>
  records.filter((r): r is EvalRecord => r.kind === "eval" && r.scales !== undefined).at(-1)!.scales!;
const topLr = valuesOf(pvc, "lr").at(-1)!;
const top = runsWhere(pvc, { arch: "normformer", lr: topLr });
console.log(`S6: ${describeRun(pvc, top[0])}\nT0: ${describeRun(t0)}`);
await plot.flushOutputs();

// %% [markdown]
// ## How far could the gains move? Σ lr, ours against the paper's

// %%
const sums = valuesOf(pvc, "lr").map((lr) => ({
  lr,
  sum: sumLr(pvc.runs[runsWhere(pvc, { arch: "normformer", lr })[0]]),
}));
const t0Sum = sumLr(t0.runs.decay_all);
await plot.show(plot.md`| run | Σ lr over its updates | share of the paper's |
|---|---|---|
| paper, 125M (3e-3 peak, 572,204 updates) | ${paperSum.toFixed(0)} | 100% |
${
  sums.map((s) =>
    `| S6 NormFormer, peak lr ${fmtLr(s.lr)} (300 updates) | ${s.sum.toFixed(3)} | ${
      (100 * s.sum / paperSum).toFixed(4)
    }% |`
  ).join("\n")
}
| T0 NormFormer (learned_scales, 400 updates) | ${t0Sum.toFixed(3)} | ${(100 * t0Sum / paperSum).toFixed(4)}% |

Our largest Σ lr is ${(paperSum / Math.max(...sums.map((s) => s.sum), t0Sum)).toFixed(0)}× smaller than the paper's.`);

// %% [markdown]
// ## The gains of the highest-LR S6 runs (lr 1e-2), seed 1; paper medians are for 12 layers and not overlaid

// %%
await plot.display(
  plot.learnedScaleBoxes(lastScales(pvc.runs[top[0]]), {
    title: `Learned scales, S6 NormFormer at lr ${fmtLr(topLr)} (seed 1, after ${
      (pvc.meta.runs as Record<string, { config: { steps: number } }>)[top[0]].config.steps
    } updates)`,
  }),
);

// %%
const kinds = ["ffnNorm", "postAttnNorm", "headScale"] as const;
const slope = (v: readonly number[]) => {
  const n = v.length, mx = (n - 1) / 2, my = v.reduce((a, b) => a + b, 0) / n;
  return v.reduce((s, y, i) => s + (i - mx) * (y - my), 0) / v.reduce((s, _y, i) => s + (i - mx) ** 2, 0);
};
const perSeed = Object.fromEntries(kinds.map((k) => [k, top.map((n) => scaleMedians(pvc.runs[n], k))]));
const meanByLayer = (k: (typeof kinds)[number]) =>
  perSeed[k][0].map((_, l) => meanStd(perSeed[k].map((s) => s[l])).mean);
const slopes = Object.fromEntries(kinds.map((k) => [k, meanStd(perSeed[k].map(slope))]));
const moved = Math.max(...kinds.flatMap((k) => perSeed[k].flat().map((v) => Math.abs(v - 1))));
await plot.show(
  plot.md`Per-layer medians, mean over ${top.length} seeds, and the slope per layer (mean ± std over seeds):

| scale | ours, layers 0–${
    perSeed.ffnNorm[0].length - 1
  } | slope per layer, ours | paper, layers 0–11 (≈) | slope, paper |
|---|---|---|---|---|
${
    kinds.map((k) =>
      `| ${k} | ${meanByLayer(k).map((x) => x.toFixed(3)).join(" ")} | ${slopes[k].mean.toFixed(4)} ± ${
        slopes[k].std.toFixed(4)
      } | ${PAPER_SCALE_MEDIANS[k].map((x) => x.toFixed(2)).join(" ")} | ${slope(PAPER_SCALE_MEDIANS[k]).toFixed(3)} |`
    ).join("\n")
  }

The largest distance of any per-layer median from its initial value 1 is ${moved.toFixed(3)}; the paper's medians are
up to ${Math.max(...kinds.flatMap((k) => PAPER_SCALE_MEDIANS[k].map((v) => Math.abs(v - 1)))).toFixed(2)} away.`,
);

// %% [markdown]
// ## What can and cannot be said
//
// Computed from the tables above.

// %%
const ffnRise = slopes.ffnNorm.mean > 0 && slopes.ffnNorm.mean > 2 * slopes.ffnNorm.std;
const ffnFall = slopes.ffnNorm.mean < 0 && -slopes.ffnNorm.mean > 2 * slopes.ffnNorm.std;
const paBelow = meanByLayer("postAttnNorm").every((m) => m < 1);
await plot.show(
  plot.md`- With ${
    (paperSum / Math.max(...sums.map((s) => s.sum))).toFixed(0)
  }× less Σ lr than the paper's run, the gains have moved at most ${moved.toFixed(3)} from 1, against up to ${
    Math.max(...kinds.flatMap((k) => PAPER_SCALE_MEDIANS[k].map((v) => Math.abs(v - 1)))).toFixed(2)
  } in Fig. 4: **Fig. 4's pattern cannot be tested on this budget.**
- Direction only: the FFN-LN gains ${
    ffnRise
      ? "rise with depth (slope more than 2 std above 0), the paper's direction"
      : ffnFall
      ? `fall with depth (slope ${slopes.ffnNorm.mean.toFixed(4)} ± ${
        slopes.ffnNorm.std.toFixed(4)
      } per layer, more than 2 std below 0), the opposite of the paper's direction`
      : "show no trend with depth that exceeds 2 std of the seeds"
  }; the post-attention-LN gains are ${
    paBelow ? "below 1 in every layer, the paper's direction" : "not below 1 in every layer"
  }. Both are statements about a start, not about the trained values the paper reports.
- Notebook 01's counterfactual (gains set to Fig. 4's medians in a 12-layer model) shows what those values would do.`,
);

// %% [markdown]
// ## T0 (12 layers, 400 updates): with and without weight decay on the scales
//
// fairseq decays every parameter (0.01), which pulls gains towards 0; `noDecayNormsAndScales` exempts them.

// %%
await plot.display(
  plot.learnedScaleBoxes(lastScales(t0.runs.decay_all), {
    paperMedians: true,
    title: "T0 learned scales (weight decay on all parameters, as fairseq)",
  }),
);
const t0Medians = Object.fromEntries(kinds.map((k) => [k, scaleMedians(t0.runs.decay_all, k)]));
const t0NoDecay = Object.fromEntries(kinds.map((k) => [k, scaleMedians(t0.runs.no_decay_on_scales, k)]));
await plot.show(plot.md`| scale | T0, decay on all (layers 0–11) | T0, no decay on scales | paper (≈) |
|---|---|---|---|
${
  kinds.map((k) =>
    `| ${k} | ${t0Medians[k].map((x) => x.toFixed(3)).join(" ")} | ${
      t0NoDecay[k].map((x) => x.toFixed(3)).join(" ")
    } | ${PAPER_SCALE_MEDIANS[k].map((x) => x.toFixed(2)).join(" ")} |`
  ).join("\n")
}

Final validation loss: ${finalValidLoss(t0.runs.decay_all).toFixed(3)} nats/byte (decay on all), ${
  finalValidLoss(t0.runs.no_decay_on_scales).toFixed(3)
} (no decay on scales).`);

// %% [markdown]
// ## Re-running
// `deno task experiment learned_scales` regenerates the T0 results and `deno task experiment perplexity_vs_compute
// --jobs 2 --resume` the S6 runs; in CI the quick size of `learned_scales` runs here.

// %%
if (quick || rerunRequested) {
  const fresh = await rerun();
  await plot.display(
    plot.learnedScaleBoxes(lastScales(fresh.runs.decay_all), { title: "Quick re-run: learned scales" }),
  );
}
