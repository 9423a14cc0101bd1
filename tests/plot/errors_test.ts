/** Plot builders on empty or unsuitable input: each throws a sentence-case error that names the value and the fix. */
import { assertRejects, assertThrows } from "../assert.ts";
import {
  barsWithError,
  gradHeatmap,
  gradNormPanels,
  learnedScaleBoxes,
  lossCurve,
  lrRampCurves,
  perplexityVsCompute,
  plotlyToVegaLite,
  saveFigure,
} from "../../lib/plot/mod.ts";
import { rampRun, synthRun } from "./_synth.ts";

const noGrads = synthRun("plain", { grads: false });
const withGrads = synthRun("nf", { layers: 4 });

Deno.test("gradNormPanels without per-parameter grads says to train with gradStats=true", () => {
  assertThrows(
    () => gradNormPanels([noGrads]),
    /^Cannot plot grad norms: no record has per-parameter grads; train with gradStats=true$/,
  );
  assertThrows(() => gradHeatmap(noGrads), /no record has per-parameter grads; train with gradStats=true/);
});

Deno.test("gradNormPanels names a missing parameter kind, a missing layer, an empty step range", () => {
  assertThrows(
    () => gradNormPanels([withGrads], { param: "fc3.weight" }),
    /run "nf" has no layer parameter "fc3.weight"; its kinds are .*fc2\.weight/,
  );
  assertThrows(() => gradNormPanels([withGrads], { layers: [0, 11] }), /layer 11 is not in run "nf" \(layers 0–3\)/);
  assertThrows(
    () => gradNormPanels([withGrads], { steps: [5000, 6000] }),
    /no record with grads falls in steps \[5000,6000\]/,
  );
  assertThrows(() => gradNormPanels([withGrads], { smooth: 0 }), /Cannot smooth with window 0: expected ≥ 1/);
  assertThrows(() => gradNormPanels([withGrads], { norm: "l3" as never }), /Invalid norm "l3": expected "l1" or "l2"/);
});

Deno.test("run lists: empty, duplicate names and malformed runs are errors", () => {
  assertThrows(() => lossCurve([]), /^Cannot plot a loss curve: no runs were given$/);
  assertThrows(() => lossCurve([noGrads, noGrads]), /two runs are named "plain"/);
  assertThrows(() => lossCurve([{ name: "x" } as never]), /each run must be \{name, records\}/);
  assertThrows(() => lossCurve([{ name: "empty", records: [] }]), /no run has train records \(runs "empty"\)/);
  assertThrows(() => lossCurve([noGrads], { x: "epoch" as never }), /against x "epoch": expected one of "step"/);
});

Deno.test("perplexityVsCompute needs eval records after the first update", () => {
  const trainOnly = { name: "t", records: noGrads.records.filter((r) => r.kind === "train") };
  assertThrows(
    () => perplexityVsCompute([trainOnly]),
    /no run has "valid" eval records after the first update; train with evalEvery > 0/,
  );
  assertThrows(
    () => perplexityVsCompute([noGrads], { x: "step" as never }),
    /expected one of "flops", "tokens", "time"/,
  );
});

Deno.test("learnedScaleBoxes without NormFormer scales names the parameters it looks for", () => {
  assertThrows(() => learnedScaleBoxes(undefined), /^Cannot plot learned scales: the record has no NormFormer scales/);
  assertThrows(() => learnedScaleBoxes({}), /ffn_layernorm\.weight, attn_ln\.weight, c_attn/);
});

Deno.test("lrRampCurves and barsWithError reject empty or bad input", () => {
  assertThrows(() => lrRampCurves([{ name: "r", records: [] }]), /no run has a finite train loss/);
  assertThrows(
    () => lrRampCurves([rampRun("r", 30)], { factor: 1 }),
    /Invalid explosion factor 1: expected a number > 1/,
  );
  assertThrows(() => barsWithError([]), /^Cannot plot bars: no rows were given$/);
  assertThrows(
    () => barsWithError([{ label: "a", mean: NaN, std: 1 }]),
    /finite mean and a std ≥ 0, got \{"label":"a"/,
  );
  assertThrows(
    () => barsWithError([{ label: "a", mean: 1, std: 0 }, { label: "a", mean: 2, std: 0 }]),
    /labels must be unique/,
  );
});

Deno.test("plotlyToVegaLite and saveFigure reject what they cannot draw or write", async () => {
  assertThrows(() => plotlyToVegaLite({ data: [] }), /Cannot render a Plotly figure with no traces/);
  assertThrows(
    () => plotlyToVegaLite({ data: [{ type: "heatmap", z: [[1]] }] }),
    /Cannot render Plotly trace type "heatmap" statically: only scatter and bar are supported/,
  );
  await assertRejects(
    () => saveFigure(lossCurve([noGrads]), "/tmp/figure.pdf"),
    /Cannot save a figure as "\/tmp\/figure.pdf": expected a path ending in .svg, .png, .json or .html/,
  );
});
