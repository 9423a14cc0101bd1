/** Each plot builder on synthetic records: compiles with no warnings; marks, encodings, titles, scales. */
import { assert, assertEquals } from "../assert.ts";
import {
  barsWithError,
  gradHeatmap,
  gradHeatmapDomain,
  gradNormPanels,
  layerProfiles,
  learnedScaleBoxes,
  lossCurve,
  lossCurveFigure,
  lrRampCurves,
  lrSweep,
  PAPER_SCALE_MEDIANS,
  perplexityVsCompute,
  plotlyToVegaLite,
} from "../../lib/plot/mod.ts";
import type { EvalRecord } from "../../lib/metrics/records.ts";
import { compileSpec, markType, units } from "./_compile.ts";
import { rampRun, synthRun } from "./_synth.ts";

const preln = synthRun("Pre-LN");
const nf = synthRun("NormFormer", { deepGrows: true });
const lastScales = (nf.records.filter((r) => r.kind === "eval").at(-1) as EvalRecord).scales;

function check(spec: any) {
  const { vega, warnings } = compileSpec(spec);
  assertEquals(warnings, []);
  assert.ok(Array.isArray(vega.marks) && vega.marks.length > 0);
  return spec as Record<string, any>;
}

Deno.test("lossCurve: raw and smoothed train lines, eval points, x titles with units", () => {
  const spec = check(lossCurve([preln, nf], { x: "tokens", smooth: 10 }));
  assertEquals(units(spec).map(markType), ["line", "line", "point"]);
  const [raw, smooth, evals] = spec.layer;
  assertEquals(smooth.encoding.x.title, "Training tokens");
  assertEquals(smooth.encoding.y.title, "Cross-entropy (nats/token)");
  assertEquals(smooth.encoding.color.field, "run");
  assertEquals(raw.mark.opacity, 0.2);
  assertEquals(evals.encoding.shape.title, "Eval split");
  const rows = spec.data.values as { run: string; series: string; loss: number }[];
  assertEquals(rows.filter((r) => r.series === "valid" && r.run === "Pre-LN").length, 4); // steps 0, 40, 80, 120
  const smoothed = rows.filter((r) => r.series === "train" && r.run === "Pre-LN").map((r) => r.loss);
  assertEquals(smoothed.length, 120);
  for (const x of ["step", "flops", "time"] as const) check(lossCurve([preln], { x, logY: true }));
  assertEquals((lossCurve([preln], { logY: true }) as any).layer[0].encoding.y, {
    field: "loss",
    type: "quantitative",
    title: "Cross-entropy (nats/token)",
    scale: { type: "log" },
  });
  const noEval = check(lossCurve([preln], { split: null }));
  assert.ok(noEval.data.values.every((r: { series: string }) => r.series.startsWith("train")));
  assertEquals(units(noEval).map(markType), ["line", "line"]);
});

Deno.test("perplexityVsCompute: log x, step-0 evals dropped, one colour per run", () => {
  const spec = check(perplexityVsCompute([preln, nf], { x: "flops" }));
  assertEquals(spec.encoding.x.scale.type, "log");
  assertEquals(spec.encoding.x.title, "Training compute (FLOPs), log scale");
  assertEquals(spec.encoding.y.title, "Validation perplexity");
  assert.ok(spec.data.values.every((r: { x: number }) => r.x > 0));
  assertEquals(check(perplexityVsCompute([nf], { x: "time" })).encoding.x.title, "Training time (s), log scale");
});

Deno.test("gradNormPanels: one facet per run, one line per chosen layer, smoothed L1 of fc2.weight", () => {
  const spec = check(gradNormPanels([preln, nf], { layers: [0, 1, 6, 10, 11], smooth: 20 }));
  assertEquals(spec.facet.column.field, "run");
  assertEquals(spec.facet.column.sort, ["Pre-LN", "NormFormer"]);
  assertEquals(markType(spec.spec), "line");
  assertEquals(spec.spec.encoding.x.title, "Step");
  assertEquals(spec.spec.encoding.y.title, "Grad norm (L1, Σ|g|)");
  assertEquals(spec.spec.encoding.color.field, "layer");
  const layers = new Set(spec.data.values.map((r: { layer: number }) => r.layer));
  assertEquals([...layers], [0, 1, 6, 10, 11]);
  const first = spec.data.values.find((r: { run: string; layer: number }) => r.run === "Pre-LN" && r.layer === 0);
  assertEquals(first.norm, preln.records.find((r) => r.kind === "train")!.grads!["decoder.layers.0.fc2.weight"][0]);
  const l2 = check(
    gradNormPanels([nf], { param: "q_proj.weight", norm: "l2", smooth: 1, steps: [10, 20], logY: true }),
  );
  assertEquals(l2.spec.encoding.y.title, "Grad norm (L2, ‖g‖₂)");
  assertEquals(l2.spec.encoding.y.scale.type, "log");
  assert.ok(l2.data.values.every((r: { step: number }) => r.step >= 10 && r.step <= 20));
});

Deno.test("gradHeatmap: rows in layer order, biases only on request, ratio to a baseline centred on 1", () => {
  const spec = check(gradHeatmap(nf));
  assertEquals(spec.mark, "rect");
  assertEquals(spec.encoding.x.title, "Layer");
  assertEquals(spec.encoding.color.scale.type, "log");
  assertEquals(spec.encoding.y.sort, [
    "q_proj",
    "k_proj",
    "v_proj",
    "c_attn",
    "out_proj",
    "attn_ln",
    "fc1",
    "ffn_layernorm",
    "fc2",
  ]);
  assertEquals(spec.data.values.length, 9 * 12);
  const all = check(gradHeatmap(nf, { include: "all", norm: "l2" }));
  assert.ok(all.encoding.y.sort.includes("out_proj.bias"));
  const rel = check(gradHeatmap(nf, { relativeTo: preln, steps: [1, 50] }));
  assertEquals(rel.encoding.color.scale.domainMid, 1);
  assert.ok(rel.title.text.includes("NormFormer / Pre-LN"));
  const l0 = rel.data.values.find((r: { kind: string; layer: number }) => r.kind === "fc2" && r.layer === 0);
  assert.ok(Math.abs(l0.value - 1 / 12) < 1e-9, `layer 0 ratio ${l0.value}`);
});

Deno.test("learnedScaleBoxes: three paper panels, box from quartiles, whiskers, reference at 1, paper medians", () => {
  const spec = check(learnedScaleBoxes(lastScales, { paperMedians: true }));
  assertEquals(spec.facet.column.sort, ["FFN LayerNorm", "Post Attn LayerNorm", "HeadScale"]);
  assertEquals(units(spec).map(markType), ["rule", "bar", "tick", "point", "rule"]);
  const [whisker, box] = spec.spec.layer;
  assertEquals([whisker.encoding.y.field, whisker.encoding.y2.field], ["min", "max"]);
  assertEquals([box.encoding.y.field, box.encoding.y2.field, box.encoding.y.title], ["q1", "q3", "Weight"]);
  const rows = spec.data.values as { type: string; panel: string; median?: number; ref?: number }[];
  assertEquals(rows.filter((r) => r.type === "box").length, 36); // w_resid is not one of the three panels
  assertEquals(rows.filter((r) => r.type === "ref"), [{ type: "ref", panel: "HeadScale", ref: 1 }]);
  const paperFfn = rows.filter((r) => r.type === "paper" && r.panel === "FFN LayerNorm").map((r) => r.median);
  assertEquals(paperFfn, [...PAPER_SCALE_MEDIANS.ffn]);
  const plain = check(learnedScaleBoxes(lastScales));
  assertEquals(plain.data.values.filter((r: { type: string }) => r.type === "paper").length, 0);
  assertEquals(units(plain).map(markType), ["rule", "bar", "tick", "rule"]);
  const twoLayers = Object.fromEntries(Object.entries(lastScales!).filter(([k]) => /layers\.[01]\./.test(k)));
  const small = check(learnedScaleBoxes(twoLayers, { paperMedians: true }));
  const paperLayers = small.data.values.filter((r: { type: string }) => r.type === "paper").map((r: any) => r.layer);
  assertEquals(paperLayers, [0, 1, 0, 1, 0, 1]); // medians only for the layers the run has
});

Deno.test("learnedScaleBoxes: only the panels a run has (an ablation without HeadScale)", () => {
  const noHead = Object.fromEntries(Object.entries(lastScales!).filter(([k]) => !k.endsWith("c_attn")));
  const spec = check(learnedScaleBoxes(noHead));
  assertEquals(spec.facet.column.sort, ["FFN LayerNorm", "Post Attn LayerNorm"]);
  assert.ok(!spec.data.values.some((r: { type: string }) => r.type === "ref"));
  assertEquals(units(spec).map(markType), ["rule", "bar", "tick"]);
});

Deno.test("lrRampCurves: the first unstable update (metrics' explosionStep) is marked per run", () => {
  const a = rampRun("baseline", 30), b = rampRun("NormFormer", 50);
  const spec = check(lrRampCurves([a, b]));
  const legends = compileSpec(spec as never).vega.legends as { title: string }[] | undefined;
  assertEquals(legends?.map((l) => l.title), ["Run"]); // one legend naming the runs (markers share it)
  assertEquals(units(spec).map(markType), ["line", "rule", "point"]);
  assertEquals(spec.layer[0].encoding.y.title, "Train loss (nats/token)");
  assert.ok(Math.abs(spec.layer[0].encoding.y.scale.domainMax - 1.5 * (5 - 1 / 50)) < 1e-9);
  const marks = spec.data.values.filter((r: { type: string }) => r.type === "explosion");
  assertEquals(marks.map((r: { run: string; step: number }) => [r.run, r.step]), [["baseline", 30], [
    "NormFormer",
    50,
  ]]);
  assert.ok(!spec.data.values.some((r: { loss: number }) => !Number.isFinite(r.loss)));
  assertEquals(units(check(lrRampCurves([rampRun("stable", 1000, 50)]))).map(markType), ["line"]);
  const early = check(lrRampCurves([rampRun("early", 10)], { after: 5 }));
  assertEquals(early.data.values.filter((r: { type: string }) => r.type === "explosion")[0].step, 10);
  const warmup = check(lrRampCurves([rampRun("early", 10, 14)])); // a jump before step 20 does not count
  assertEquals(warmup.data.values.filter((r: { type: string }) => r.type === "explosion").length, 0);
});

Deno.test("barsWithError: bars, ±std rules and labels; given order or sorted", () => {
  const rows = [
    { label: "NormFormer", mean: 15.88, std: 0.05 },
    { label: "− FFN LN", mean: 16.14, std: 0.08 },
    { label: "Pre-LN baseline", mean: 16.37, std: 0.07 },
  ];
  const spec = check(barsWithError(rows, { valueTitle: "Valid PPL" }));
  assertEquals(units(spec).map(markType), ["bar", "rule", "text"]);
  assertEquals(spec.layer[0].encoding.x.title, "Valid PPL (mean ± std)");
  assertEquals(spec.layer[0].encoding.x.scale.zero, false);
  assertEquals(spec.layer[0].encoding.y.sort, rows.map((r) => r.label));
  assertEquals([spec.layer[1].encoding.x.field, spec.layer[1].encoding.x2.field], ["lo", "hi"]);
  const sorted = check(barsWithError(rows, { sort: "descending", zero: true }));
  assertEquals(sorted.layer[0].encoding.y.sort, { field: "mean", order: "descending" });
});

Deno.test("lossCurveFigure and plotlyToVegaLite: a Plotly figure and its static redraw", () => {
  const fig = lossCurveFigure([preln, nf], { x: "flops" });
  assertEquals(fig.data.map((t) => [t.name, t.mode]), [
    ["Pre-LN train", "lines"],
    ["Pre-LN valid", "markers"],
    ["NormFormer train", "lines"],
    ["NormFormer valid", "markers"],
  ]);
  assertEquals((fig.layout!.xaxis as any).title.text, "Training compute (FLOPs)");
  const spec = check(plotlyToVegaLite(fig));
  assertEquals(spec.encoding.x.title, "Training compute (FLOPs)");
  assertEquals(spec.encoding.color.sort, fig.data.map((t) => t.name));
  assertEquals(units(spec).map(markType), ["line", "point", "line", "point"]);
  const bars = check(plotlyToVegaLite({
    data: [{ type: "bar", name: "ppl", x: ["a", "b"], y: [1, 2] }],
    layout: { title: "Bars", yaxis: { type: "log", title: "PPL" } },
  }));
  assertEquals([bars.title, bars.encoding.x.type, bars.encoding.y.scale.type], ["Bars", "nominal", "log"]);
});

Deno.test("gradHeatmap: averages over the records that carry every parameter; a shared domain", () => {
  const rec = (step: number, grads: Record<string, [number, number]>) => ({
    kind: "train" as const,
    step,
    tokens: 0,
    flops: 0,
    time: 0,
    lr: 1e-3,
    loss: 3,
    gradNorm: 1,
    grads,
  });
  const every = "decoder.layers.0.fc2.weight", sparse = "decoder.layers.0.fc1.weight";
  const records = [
    rec(1, { [every]: [2, 0], [sparse]: [10, 0] }),
    rec(2, { [every]: [4, 0] }),
    rec(3, { [every]: [6, 0] }),
  ];
  const spec = check(gradHeatmap({ name: "a", records }));
  const value = (kind: string) => spec.data.values.find((r: { kind: string }) => r.kind === kind).value;
  assertEquals([value("fc2"), value("fc1")], [2, 10]); // step 1 only: the one record with both parameters
  const other = { name: "b", records: [rec(1, { [every]: [100, 0] })] };
  assertEquals(gradHeatmapDomain([{ name: "a", records }, other]), [2, 100]);
  const shared = check(gradHeatmap({ name: "a", records }, { domain: [2, 100] }));
  assertEquals(shared.encoding.color.scale.domain, [2, 100]);
});

Deno.test("lrSweep: a line per series on a log LR axis fitted to the grid, error rules from std", () => {
  const pts = [1e-3, 3e-3, 1e-2].flatMap((lr, i) => [
    { series: "Pre-LN", lr, mean: 2.5 - 0.01 * i, std: 0.01, n: 3 },
    { series: "NormFormer", lr, mean: 2.45 - 0.03 * i, std: 0.02, n: 3 },
  ]);
  const spec = check(lrSweep(pts));
  assertEquals(units(spec).map(markType), ["line", "rule"]);
  const x = spec.layer[0].encoding.x;
  assertEquals([x.scale.type, x.axis.values], ["log", [1e-3, 3e-3, 1e-2]]);
  assert.ok(x.scale.domain[0] < 1e-3 && x.scale.domain[0] > 5e-4 && x.scale.domain[1] < 2e-2);
  const lo = spec.data.values.find((r: { series: string; lr: number }) => r.series === "NormFormer" && r.lr === 1e-3);
  assertEquals([lo.lo, lo.hi], [2.43, 2.47]);
  assert.throws(() => lrSweep([]), /no points/);
  assert.throws(() => lrSweep([{ series: "a", lr: 0, mean: 1, std: 0, n: 1 }]), /an lr > 0/);
});

Deno.test("layerProfiles: a panel per quantity, log y per panel; non-positive values refused", () => {
  const pts = ["fc2 input RMS", "stream RMS"].flatMap((quantity) =>
    [0, 1, 2].map((layer) => ({ series: "Pre-LN", quantity, layer, value: 1 + layer }))
  );
  const spec = check(layerProfiles(pts));
  assertEquals(spec.facet.column.sort, ["fc2 input RMS", "stream RMS"]);
  assertEquals([spec.spec.encoding.y.scale.type, spec.resolve.scale.y], ["log", "independent"]);
  assert.throws(() => layerProfiles([{ series: "a", quantity: "q", layer: 0, value: 0 }]), /values must be > 0/);
});
