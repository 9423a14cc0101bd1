// %% [markdown]
// # The learned scaling parameters (paper Fig. 4)
//
// **Claim.** In a trained NormFormer the FFN-LayerNorm gains are small in early layers and grow with depth
// ("earlier layers receive downscaled inputs, keeping their gradients in the same range as the gradients of later
// layers"); the post-attention-LN gains are below 1 in every layer; the HeadScale values "vary more than the
// others, and have no relationship with depth" (p. 6–7).
//
// **Paper's numbers (≈ medians, layers 0–11).** FFN LN .22 → .89 rising steadily; post-attn LN .14–.37; HeadScale
// .72–1.11.
//
// **Our experiment.** `data/experiments/learned_scales.json`: a 12-layer d = 64 NormFormer trained on byte-level
// Gutenberg text, then per-layer quartiles of each gain vector. The same run with weight decay excluded from norms
// and scales shows how much the decay (fairseq applies 0.01 to every parameter) pulls gains towards 0.

// %%
import * as plot from "../lib/plot/mod.ts";
import { finalValidLoss, scaleMedians } from "../lib/metrics/analysis.ts";
import { PAPER_SCALE_MEDIANS } from "../lib/metrics/paper.ts";
import type { EvalRecord } from "../lib/metrics/records.ts";
import { readResults } from "../lib/train/experiment.ts";
import { describeRun, notebookSetup } from "./_setup.ts";

const { quick, rerunRequested, results, rerun } = await notebookSetup("learned_scales");
const ref = await readResults(results);
const lastScales = (name: string) =>
  ref.runs[name].filter((r): r is EvalRecord => r.kind === "eval" && r.scales !== undefined).at(-1)!.scales;
console.log(`reference results, made by ${describeRun(ref)}`);

// %% [markdown]
// ## Our plot: per-layer distributions, with the paper's medians as points

// %%
await plot.display(
  plot.learnedScaleBoxes(lastScales("decay_all"), {
    paperMedians: true,
    title: "Learned scales (weight decay on all parameters, as fairseq)",
  }),
);
await plot.display(
  plot.learnedScaleBoxes(lastScales("no_decay_on_scales"), {
    title: "Learned scales (no weight decay on norms and scales)",
  }),
);

// %% [markdown]
// ## Our medians beside the paper's

// %%
const kinds = ["ffnNorm", "postAttnNorm", "headScale"] as const;
const ours = Object.fromEntries(kinds.map((k) => [k, scaleMedians(ref.runs.decay_all, k)]));
const fmt = (v: readonly number[]) => v.map((x) => x.toFixed(2)).join(" ");
const slope = (v: readonly number[]) => {
  const n = v.length, mx = (n - 1) / 2, my = v.reduce((a, b) => a + b, 0) / n;
  return v.reduce((s, y, i) => s + (i - mx) * (y - my), 0) / v.reduce((s, _y, i) => s + (i - mx) ** 2, 0);
};
Deno.jupyter.md`${
  [
    "| operation | ours (layers 0–11) | paper (≈) | slope per layer, ours | slope, paper |",
    "|---|---|---|---|---|",
    ...kinds.map((k) =>
      `| ${k} | ${fmt(ours[k])} | ${fmt(PAPER_SCALE_MEDIANS[k])} | ${slope(ours[k]).toFixed(3)} | ${
        slope(PAPER_SCALE_MEDIANS[k]).toFixed(3)
      } |`
    ),
  ].join("\n")
}

Final validation loss: ${finalValidLoss(ref.runs.decay_all).toFixed(3)} nats/byte (decay on all), ${
  finalValidLoss(ref.runs.no_decay_on_scales).toFixed(3)
} (no decay on scales).`;

// %% [markdown]
// ## Where we differ

// %%
const ffnRises = slope(ours.ffnNorm) > 0;
const attnBelow1 = ours.postAttnNorm.every((m) => m < 1);
Deno.jupyter.md`FFN-LN gains ${ffnRises ? "rise" : "do not rise"} with depth in our run (slope ${
  slope(ours.ffnNorm).toFixed(3)
} per layer; paper ${slope(PAPER_SCALE_MEDIANS.ffnNorm).toFixed(3)}); post-attention-LN gains are ${
  attnBelow1 ? "below 1 in every layer, as in the paper" : "not below 1 in every layer, unlike the paper"
}. Our run is short (a few hundred updates of a d = 64 model, versus 572k updates at 125M), so the gains have moved
only part of the way from their initial value 1: read the direction, not the size.`;

// %% [markdown]
// ## Re-running
// `deno task experiment learned_scales` regenerates the reference results; in CI the quick size runs here.

// %%
if (quick || rerunRequested) {
  const fresh = await rerun();
  const s = fresh.runs.decay_all.filter((r): r is EvalRecord => r.kind === "eval" && r.scales !== undefined).at(-1)!;
  await plot.display(plot.learnedScaleBoxes(s.scales, { title: "Quick re-run" }));
}
