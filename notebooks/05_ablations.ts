// %% [markdown]
// # Ablations (paper section 5)
//
// **Claim.** "Removing any of the added operations degrades performance" and NormFormer improves over the
// baseline across hyperparameters (p. 2). The section's table was not found in any primary source (NORMFORMER.md
// c.6), so we judge each operation against full NormFormer and against the baseline, not against remembered
// numbers.
//
// **Our experiment.** `data/experiments/ablations.json` on the CPU tier S6 (6 layers, d = 128, 300 updates) at
// lr 5e-3: NormFormer without post-attention LN, without HeadScale, without FFN LN, and with residual scaling
// added, 3 seeds each. Full NormFormer and the Pre-LN baseline at the same LR and seeds are the
// `perplexity_vs_compute` runs (same training config apart from the switches; the notebook checks this below).
// Δ is taken seed by seed (a seed fixes the data order), then mean ± std over seeds.

// %%
import * as plot from "../lib/plot/mod.ts";
import { finalValidLoss, meanStd } from "../lib/metrics/analysis.ts";
import { readExperiment, readResults } from "../lib/train/experiment.ts";
import { configOf, describeRun, fmtLr, fmtMeanStd, notebookSetup, type Results } from "./_setup.ts";

const { quick, rerunRequested, results, rerun } = await notebookSetup("ablations");
const root = results.replace(/\/data\/results\/.*$/, "");
const exp = await readExperiment(`${root}/data/experiments/ablations.json`);
const ref = await readResults(results);
const base = await readResults(results.replace(/ablations$/, exp.baselines!.experiment));
const variants = {
  preln: "Pre-LN baseline",
  no_postattnnorm: "− post-attn LN",
  no_headscale: "− HeadScale",
  no_ffnnorm: "− FFN LN",
  plus_residscale: "+ residual scaling",
} as const;
// Where each variant's run for a seed lives: the ablation results, or the baseline experiment's results.
const source = (variant: string, seed: number): [Results, string] | null => {
  const own = `${variant}_s${seed}`;
  if (ref.runs[own]) return [ref, own];
  const mapped = exp.baselines!.runs[own];
  return mapped && base.runs[mapped] ? [base, mapped] : null;
};
const seeds = [1, 2, 3].filter((s) => source("normformer", s));
const loss = (variant: string, seed: number) => {
  const s = source(variant, seed);
  return s ? finalValidLoss(s[0].runs[s[1]]) : null;
};
const lr = configOf(...source("normformer", seeds[0])!).lr as number;
console.log(
  `${Object.keys(ref.runs).length} ablation runs (${
    (Number(ref.meta.seconds) / 3600).toFixed(2)
  } CPU-hours) + baselines from ${exp.baselines!.experiment}; e.g. ${describeRun(ref)}`,
);
await plot.flushOutputs();

// %% [markdown]
// ## Same training config apart from the switches?

// %%
const ignored = new Set([
  "postAttnNorm",
  "headScale",
  "ffnNorm",
  "residScale",
  "arch",
  "gradStats",
  "actStatsEvery",
  "evalEvery",
]);
const differences = Object.keys(ref.runs).flatMap((n) => {
  const seed = configOf(ref, n).seed as number;
  const nf = source("normformer", seed);
  if (!nf) return [`${n}: no NormFormer run for seed ${seed}`];
  const a = configOf(ref, n), b = configOf(...nf);
  return Object.keys({ ...a, ...b }).filter((k) => !ignored.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${n}.${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
});
await plot.show(
  plot.md`${
    differences.length
      ? `**Config differences beyond the switches:** ${differences.join("; ")}`
      : `Every ablation run matches its seed's NormFormer run in every training key (lr ${
        fmtLr(lr)
      }, schedule, data, seed, shape) apart from the switches and the logging keys (${
        [...ignored].slice(4).join(", ")
      }), which do not change training.`
  }`,
);

// %% [markdown]
// ## Final validation loss, and Δ against full NormFormer seed by seed

// %%
const rows = (Object.keys(variants) as (keyof typeof variants)[]).map((v) => {
  const d = seeds.flatMap((s) => {
    const a = loss(v, s), b = loss("normformer", s);
    return a === null || b === null ? [] : [a - b];
  });
  const own = seeds.map((s) => loss(v, s)).filter((x): x is number => x !== null);
  return { v, label: variants[v], loss: own.length ? meanStd(own) : null, delta: d.length ? meanStd(d) : null };
});
const nfLoss = meanStd(seeds.map((s) => loss("normformer", s)!));
await plot.show(plot.md`| variant | final loss (mean ± std) | Δ vs NormFormer (paired) | beyond 2 std? |
|---|---|---|---|
| NormFormer | ${fmtMeanStd(nfLoss)} | 0 | — |
${
  rows.map((r) =>
    `| ${r.label} | ${r.loss ? fmtMeanStd(r.loss) : "not run"} | ${
      r.delta ? `${r.delta.mean >= 0 ? "+" : ""}${fmtMeanStd(r.delta)}` : "—"
    } | ${r.delta ? (Math.abs(r.delta.mean) > 2 * r.delta.std ? "yes" : "no") : "—"} |`
  ).join("\n")
}

nats per byte; n = ${seeds.length} seeds; positive Δ = worse than full NormFormer.`);

// %%
const shown = rows.filter((r) => r.delta);
await plot.display(plot.barsWithError(shown.map((r) => ({ label: r.label, mean: r.delta!.mean, std: r.delta!.std })), {
  title: `Ablations on S6 at lr ${fmtLr(lr)}: Δ final validation loss vs full NormFormer`,
  valueTitle: "Δ validation loss (nats/byte; > 0 is worse)",
  zero: true,
  format: "+.3f",
}));

// %% [markdown]
// ## What the data say
//
// Computed from the table: a difference counts only when its mean exceeds 2 standard deviations of the paired
// differences.

// %%
const clear = shown.filter((r) => Math.abs(r.delta!.mean) > 2 * r.delta!.std);
const removals = shown.filter((r) => r.v.startsWith("no_"));
const hurts = removals.filter((r) => r.delta!.mean > 0);
const preln = rows.find((r) => r.v === "preln")!;
await plot.show(
  plot.md`- Differences beyond 2 std: ${
    clear.map((r) => `${r.label} (${r.delta!.mean >= 0 ? "+" : ""}${r.delta!.mean.toFixed(3)})`).join(", ") || "none"
  }; within noise: ${shown.filter((r) => !clear.includes(r)).map((r) => r.label).join(", ") || "none"}.
- Removing an operation is worse on average in ${hurts.length} of ${removals.length} cases (${
    hurts.map((r) => r.label).join(", ") || "none"
  })${
    hurts.length === removals.length && removals.length > 0
      ? ", the paper's claim"
      : "; the paper says every removal hurts"
  }.
- ${
    preln.delta
      ? `Full NormFormer is ${preln.delta.mean > 0 ? "better" : "not better"} than the Pre-LN baseline by ${
        preln.delta.mean.toFixed(3)
      } ± ${preln.delta.std.toFixed(3)} nats/byte at this LR.`
      : "The Pre-LN baseline is missing."
  }`,
);

// %% [markdown]
// ## Re-running
// `deno task experiment ablations --jobs 2 --resume` regenerates the ablation runs (the baselines come from
// `perplexity_vs_compute`); in CI the quick size runs here.

// %%
if (quick || rerunRequested) {
  const fresh = await rerun();
  const bars = Object.entries(fresh.runs).map(([label, rs]) => ({ label, mean: finalValidLoss(rs), std: 0 }));
  await plot.display(plot.barsWithError(bars, {
    title: "Quick re-run: final validation loss per run",
    valueTitle: "validation loss (nats/byte)",
    zero: false,
  }));
}
