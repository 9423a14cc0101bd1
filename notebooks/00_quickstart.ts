// Source of notebooks/00_quickstart.ipynb (percent format: `// %% [markdown]` and `// %%` start cells).
// Edit this file, then `deno task notebooks 00_quickstart --size reference --write` rebuilds and re-executes its notebook.

// %% [markdown]
// # normformer-kit quickstart
//
// Build a tiny NormFormer language model, train it for a few hundred steps on the committed text fixture on
// the CPU, plot its loss curve and learned scales from the run records, and sample some text.
//
// The kit reproduces *NormFormer: Improved Transformer Pretraining with Extra Normalization* (Shleifer, Weston,
// Ott 2021): a Pre-LN transformer plus a LayerNorm after self-attention, a LayerNorm after the first FFN
// projection, and a learned per-head scale on attention outputs (HeadScale).
//
// Set `NK_NOTEBOOK_SIZE=quick` (as CI does) to train 60 steps instead of 300.

// %%
import * as nk from "../mod.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { train } from "../lib/train/loop.ts";
import { generate } from "../lib/train/generate.ts";
import { getTokenizer } from "../lib/data/tokenizers.ts";
import type { EvalRecord, RunRecord } from "../lib/metrics/records.ts";
import { display, flushOutputs, learnedScaleBoxes, lossCurve } from "../lib/plot/mod.ts";

await nk.init({ backend: "cpu" });
const quick = Deno.env.get("NK_NOTEBOOK_SIZE") === "quick";
const config = resolveConfig([{
  preset: "tiny",
  arch: "normformer",
  corpus: "fixture",
  steps: quick ? 60 : 300,
  evalEvery: quick ? 20 : 50,
  evalTokens: 4096,
}]);
console.log(`${config.layers} layers, d=${config.dModel}, ${config.heads} heads, context ${config.contextLength}`);
await flushOutputs();

// %% [markdown]
// ## The model
//
// `NormFormerLM` takes the config object (model fields plus run fields are one flat, typed object). Parameter
// names follow fairseq, so checkpoints load in PyTorch.

// %%
const model = new nk.NormFormerLM(config);
const count = nk.paramCount(config);
const names = model.namedParameters().map(([name]) => name);
console.log(`${count.total.toLocaleString("en")} parameters, ${count.extraPerLayer} added by NormFormer per layer`);
console.log(`layer 0: ${names.filter((n) => n.startsWith("decoder.layers.0.")).map((n) => n.slice(17)).join(", ")}`);
await flushOutputs();

// %% [markdown]
// ## Training
//
// `train` builds its own model from the config (seeded, so the run is reproducible), writes one record per step
// and per evaluation, and returns the trained model. With `runDir: null` nothing is written to disk.

// %%
const records: RunRecord[] = [];
const t0 = performance.now();
const result = await train({
  config,
  runDir: null,
  onRecord: (r) => {
    records.push(r);
    // Progress while the cell runs: one line per evaluation.
    if (r.kind === "eval") console.log(`step ${r.step}/${config.steps}: valid loss ${r.loss.toFixed(3)}`);
  },
});
const evals = records.filter((r): r is EvalRecord => r.kind === "eval");
const last = evals[evals.length - 1];
console.log(
  `${result.step} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    `valid loss ${evals[0].loss.toFixed(3)} → ${last.loss.toFixed(3)} nats/token (${last.bpb.toFixed(2)} bits/byte)`,
);
await flushOutputs();

// %% [markdown]
// ## Loss curve
//
// Plots are Vega-Lite specs built from plain records (`lib/plot`). In JupyterLab they render interactively;
// executed headlessly they carry SVG and PNG fallbacks, so nbconvert's HTML and GitHub show them too.

// %%
await display(lossCurve([{ name: "tiny NormFormer", records }], { x: "tokens" }));

// %% [markdown]
// ## Learned scales (the paper's Fig. 4, at toy size)
//
// Each eval record summarizes NormFormer's learned gains: the FFN LayerNorm, the post-attention LayerNorm and the
// HeadScale γ, per layer. After so few steps they have barely moved from their initial value 1.

// %%
await display(learnedScaleBoxes(last.scales));

// %% [markdown]
// ## Sampling
//
// Temperature sampling from the trained model, byte by byte.

// %%
const tokenizer = await getTokenizer(config.tokenizer);
const prompt = "Alice was ";
const ids = await generate(result.model, Array.from(tokenizer.encode(prompt)), {
  tokens: quick ? 80 : 200,
  temperature: 0.8,
  rng: new nk.Rng(0),
});
console.log(prompt + tokenizer.decode(ids));
await flushOutputs();
