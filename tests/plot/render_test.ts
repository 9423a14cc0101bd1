/** Static rendering, MIME bundles and files: SVG with the axis titles, PNG bytes, empty-figure detection. */
import { assert, assertEquals } from "../assert.ts";
import {
  barsWithError,
  display,
  type Figure,
  figure,
  gradHeatmap,
  gradNormPanels,
  inJupyter,
  JUPYTER_DISPLAY,
  learnedScaleBoxes,
  lossCurve,
  lossCurveFigure,
  lrRampCurves,
  mimeBundle,
  perplexityVsCompute,
  renderSvg,
  saveFigure,
  svgHasMarks,
  svgToPng,
} from "../../lib/plot/mod.ts";
import type { EvalRecord } from "../../lib/metrics/records.ts";
import { rampRun, synthRun } from "./_synth.ts";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const run = synthRun("NormFormer", { steps: 60, layers: 4, evalEvery: 20 });
const fromBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("renderSvg draws marks and the axis titles, with no warnings", async () => {
  const { svg, warnings } = await renderSvg(gradNormPanels([run], { smooth: 5 }));
  assertEquals(warnings, []);
  assert.ok(svg.startsWith("<svg") && svg.length > 5000);
  for (const text of ["Step", "Grad norm (L1, Σ|g|)", "Layer", "NormFormer"]) assert.ok(svg.includes(text), text);
  assert.ok(svgHasMarks(svg));
  const scales = await renderSvg(learnedScaleBoxes((run.records.at(-1) as EvalRecord).scales, { paperMedians: true }));
  for (const text of ["FFN LayerNorm", "Post Attn LayerNorm", "HeadScale", "Weight"]) {
    assert.ok(scales.svg.includes(text));
  }
});

Deno.test("every builder renders with marks and no Vega warnings, in each variant", async () => {
  const other = synthRun("Pre-LN", { steps: 60, layers: 4, evalEvery: 20 });
  const scales = (run.records.at(-1) as EvalRecord).scales!;
  const noHead = Object.fromEntries(Object.entries(scales).filter(([k]) => !k.endsWith("c_attn")));
  const figures: [string, Figure][] = [
    ["lossCurve", lossCurve([run, other], { x: "flops", logY: true })],
    ["perplexityVsCompute", perplexityVsCompute([run, other], { x: "time" })],
    ["gradNormPanels", gradNormPanels([run, other], { layers: [0, 3], norm: "l2", logY: true })],
    ["gradHeatmap", gradHeatmap(run, { include: "all" })],
    ["gradHeatmap relative", gradHeatmap(run, { relativeTo: other })],
    ["learnedScaleBoxes", learnedScaleBoxes(scales)],
    ["learnedScaleBoxes paper", learnedScaleBoxes(scales, { paperMedians: true })],
    ["learnedScaleBoxes no HeadScale", learnedScaleBoxes(noHead)],
    ["lossCurve without evals", lossCurve([run], { split: null })],
    ["lrRampCurves", lrRampCurves([rampRun("a", 20), rampRun("b", 40)])],
    ["lrRampCurves with no explosion", lrRampCurves([rampRun("stable", 1000, 30)])],
    ["barsWithError", barsWithError([{ label: "a", mean: 2, std: 0.1 }, { label: "b", mean: 3, std: 0.2 }])],
    ["lossCurveFigure", lossCurveFigure([run, other])],
  ];
  for (const [name, fig] of figures) {
    const { svg, warnings } = await renderSvg(fig);
    assertEquals(warnings, [], name);
    assert.ok(svgHasMarks(svg), `${name} has marks`);
  }
});

Deno.test("svgHasMarks is false for a figure with axes but no data", async () => {
  const empty = await renderSvg({
    data: { values: [] },
    mark: "line",
    encoding: { x: { field: "a", type: "quantitative", title: "Step" }, y: { field: "b", type: "quantitative" } },
  });
  assert.ok(empty.svg.includes("Step"));
  assertEquals(svgHasMarks(empty.svg), false);
});

Deno.test("svgToPng gives PNG bytes whose size follows the scale", async () => {
  const { svg } = await renderSvg(lossCurve([run]));
  const png1 = await svgToPng(svg), png2 = await svgToPng(svg, { scale: 2 });
  assertEquals([...png1.subarray(0, 8)], PNG_MAGIC);
  const width = (png: Uint8Array) => new DataView(png.buffer, png.byteOffset).getUint32(16);
  assertEquals(width(png2), 2 * width(png1));
});

Deno.test("mimeBundle: vegalite v5 entry with the schema rewritten, SVG, PNG (base64), text/plain", async () => {
  const spec = lossCurve([run]);
  const bundle = await mimeBundle(spec);
  assertEquals(Object.keys(bundle), ["application/vnd.vegalite.v5+json", "image/svg+xml", "image/png", "text/plain"]);
  const vl = bundle["application/vnd.vegalite.v5+json"] as Record<string, unknown>;
  assertEquals(vl.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  assertEquals((spec as { $schema?: string }).$schema, "https://vega.github.io/schema/vega-lite/v6.json");
  assertEquals([...fromBase64(bundle["image/png"] as string).subarray(0, 8)], PNG_MAGIC);
  assertEquals(bundle["text/plain"], "<Vega-Lite figure: Training loss>");
  assertEquals(Object.keys(await mimeBundle(spec, { png: false })).includes("image/png"), false);
});

Deno.test("mimeBundle of a Plotly figure: the plotly entry unchanged plus a static redraw", async () => {
  const fig = lossCurveFigure([run]);
  const bundle = await mimeBundle(fig);
  assertEquals(bundle["application/vnd.plotly.v1+json"], fig);
  assert.ok((bundle["image/svg+xml"] as string).includes("Cross-entropy (nats/token)"));
  assert.ok(svgHasMarks(bundle["image/svg+xml"] as string));
  assertEquals(bundle["text/plain"], "<Plotly figure: Training loss>");
});

Deno.test("figure and display outside a kernel: display is a no-op, figure still gives its bundle", async () => {
  assertEquals(inJupyter(), false);
  const spec = lossCurve([run]);
  const before = JSON.stringify(spec);
  const bundle = await figure(spec)[JUPYTER_DISPLAY]();
  assert.ok((bundle["image/svg+xml"] as string).includes("Step (updates)"));
  assertEquals(await display(spec), undefined);
  const rows = (spec as { data: { values: object[] } }).data.values;
  assertEquals(Object.getOwnPropertySymbols(rows[0]), [], "rendering leaves the caller's data untouched");
  assertEquals(JSON.stringify(spec), before);
});

Deno.test("saveFigure writes svg, png, json and an offline html page", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spec = lossCurve([run], { x: "tokens" });
    for (const ext of ["svg", "png", "json", "html"]) await saveFigure(spec, `${dir}/loss.${ext}`);
    assert.ok((await Deno.readTextFile(`${dir}/loss.svg`)).includes("Training tokens"));
    assertEquals([...(await Deno.readFile(`${dir}/loss.png`)).subarray(0, 8)], PNG_MAGIC);
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/loss.json`)), JSON.parse(JSON.stringify(spec)));
    const html = await Deno.readTextFile(`${dir}/loss.html`);
    assert.ok(
      html.startsWith("<!DOCTYPE html>") && html.includes("<svg") && html.includes("<title>Training loss</title>"),
    );
    assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), "the page loads nothing");
    await figure(lossCurveFigure([run])).save(`${dir}/plotly.json`);
    assert.ok(JSON.parse(await Deno.readTextFile(`${dir}/plotly.json`)).data.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
