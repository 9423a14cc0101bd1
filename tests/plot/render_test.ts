/** Static rendering, MIME bundles and files: SVG with the axis titles, PNG bytes, empty-figure detection. */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  barsWithError,
  display,
  type Figure,
  figure,
  figureContent,
  flushOutputs,
  gradHeatmap,
  gradHeatmapFigure,
  gradNormPanels,
  inJupyter,
  JUPYTER_DISPLAY,
  learnedScaleBoxes,
  lossCurve,
  lossCurveFigure,
  lossExplorerFigure,
  lrRampCurves,
  markdownBundle,
  markdownToHtml,
  MAX_FIGURE_WIDTH,
  md,
  mimeBundle,
  perplexityVsCompute,
  renderSvg,
  saveFigure,
  show,
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

function everyBuilder(): [string, Figure][] {
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
  return figures;
}

Deno.test("every builder renders with marks and no Vega warnings, in each variant", async () => {
  for (const [name, fig] of everyBuilder()) {
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

const pngSize = (b64: string) => {
  const png = fromBase64(b64);
  assertEquals([...png.subarray(0, 8)], PNG_MAGIC);
  const view = new DataView(png.buffer, png.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
};

Deno.test("mimeBundle: vegalite v5 entry with the schema rewritten, PNG (base64) at 2x, text/plain; no SVG", async () => {
  const spec = lossCurve([run]);
  const bundle = await mimeBundle(spec);
  assertEquals(Object.keys(bundle), ["application/vnd.vegalite.v5+json", "image/png", "text/plain"]);
  const vl = bundle["application/vnd.vegalite.v5+json"] as Record<string, unknown>;
  assertEquals(vl.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  assertEquals((spec as { $schema?: string }).$schema, "https://vega.github.io/schema/vega-lite/v6.json");
  assertEquals(bundle["text/plain"], "<Vega-Lite figure: Training loss>");
  assertEquals(Object.keys(await mimeBundle(spec, { png: false })).includes("image/png"), false);
  assertEquals(Object.keys(await mimeBundle(spec, { svg: true })).includes("image/svg+xml"), true);
  // Displayed at the SVG's own size (under 800 px), drawn at twice the pixels.
  const { data, metadata } = await figureContent(spec);
  const { svg } = await renderSvg(spec);
  const svgWidth = Number(/width="([\d.]+)"/.exec(svg)![1]);
  assertEquals(metadata["image/png"].width, Math.round(svgWidth));
  assertEquals(pngSize(data["image/png"] as string)[0], Math.round(2 * svgWidth));
});

Deno.test("figureContent: a figure wider than 800 px is shown 800 wide; an empty one carries a warning", async () => {
  const wide = { ...lossCurve([run]), width: 1000 } as Figure;
  const { svg } = await renderSvg(wide);
  const svgWidth = Number(/width="([\d.]+)"/.exec(svg)![1]);
  assert.ok(svgWidth > MAX_FIGURE_WIDTH, `test figure is ${svgWidth} px wide`);
  const { data, metadata } = await figureContent(wide, { pngScale: 1 });
  assertEquals(metadata["image/png"].width, MAX_FIGURE_WIDTH);
  assertEquals(pngSize(data["image/png"] as string)[0], MAX_FIGURE_WIDTH);
  const empty = await mimeBundle({
    data: { values: [] },
    mark: "line",
    encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
  });
  assert.ok((empty["text/plain"] as string).includes("warning: the figure is empty"));
});

Deno.test("mimeBundle of a Plotly figure: the plotly entry unchanged plus a static redraw (or a given fallback)", async () => {
  const fig = lossCurveFigure([run]);
  const bundle = await mimeBundle(fig);
  assertEquals(bundle["application/vnd.plotly.v1+json"], fig);
  pngSize(bundle["image/png"] as string);
  assertEquals(bundle["text/plain"], "<Plotly figure: Training loss>");
  const heat = { data: [{ type: "heatmap", z: [[1, 2], [3, 4]] }], layout: { title: { text: "heat" } } };
  const withFallback = await mimeBundle(heat, { fallback: gradHeatmap(run), svg: true });
  assert.ok((withFallback["image/svg+xml"] as string).includes("Layer"));
  assertEquals(withFallback["text/plain"], "<Plotly figure: heat>");
});

Deno.test("gradHeatmapFigure and lossExplorerFigure: interactive Plotly entries whose PNG is the Vega-Lite view", async () => {
  const heat = gradHeatmapFigure(run, { norm: "l2" });
  assertEquals(heat.data[0].type, "heatmap");
  assertEquals(JSON.stringify(heat).includes("staticFallback"), false, "the fallback stays out of the JSON");
  const hb = await mimeBundle(heat, { svg: true });
  assertEquals(Object.keys(hb), ["application/vnd.plotly.v1+json", "image/svg+xml", "image/png", "text/plain"]);
  assert.ok((hb["image/svg+xml"] as string).includes("Parameter (weight unless .bias)"));
  assertEquals(hb["text/plain"], "<Plotly figure: Gradient norms: NormFormer>");
  const runs = ["a", "b", "c"].map((n, i) => ({
    ...synthRun(n, { steps: 60, layers: 2, evalEvery: 20 }),
    group: `lr ${i % 2}`,
  }));
  const explorer = lossExplorerFigure(runs, { initialGroup: "lr 1" });
  assertEquals(explorer.data.map((t) => t.visible), ["legendonly", true, "legendonly"]);
  const menu = (explorer.layout!.updatemenus as { buttons: { label: string }[] }[])[0];
  assertEquals(menu.buttons.map((b) => b.label), ["lr 0", "lr 1", "all"]);
  const eb = await mimeBundle(explorer, { svg: true });
  const svg = eb["image/svg+xml"] as string;
  assert.ok(svg.includes(">b<") && !svg.includes(">a<"), "the static image shows the initial group only");
  assertThrows(() => lossExplorerFigure(runs, { initialGroup: "lr 9" }), /^Unknown initialGroup "lr 9"/);
});

Deno.test("md and markdownBundle: Markdown, HTML (tables, lists, inline marks, escaped) and plain text", () => {
  const n = 0.123456;
  const table = md`| run | loss |
|---|---|
| a <b> | ${n.toFixed(3)} |`;
  assertEquals(table.markdown, "| run | loss |\n|---|---|\n| a <b> | 0.123 |");
  const b = table[JUPYTER_DISPLAY]();
  assertEquals(b["text/markdown"], table.markdown);
  assertEquals(b["text/plain"], table.markdown);
  assertEquals(
    b["text/html"],
    "<table>\n<thead><tr><th>run</th><th>loss</th></tr></thead>\n<tbody>\n<tr><td>a &lt;b&gt;</td><td>0.123</td></tr>\n" +
      "</tbody>\n</table>",
  );
  assertEquals(
    markdownToHtml("Said:\n- **one** `x<y`\n  continued\n- *two* [doc](https://example.org)\n\n## Next"),
    "<p>Said:</p>\n<ul>\n<li><strong>one</strong> <code>x&lt;y</code> continued</li>\n" +
      '<li><em>two</em> <a href="https://example.org">doc</a></li>\n</ul>\n<h2>Next</h2>',
  );
  assertEquals(markdownBundle("x")["text/html"], "<p>x</p>");
});

Deno.test("figure, display, show and flushOutputs outside a kernel: no-ops; figure still gives its bundle", async () => {
  assertEquals(inJupyter(), false);
  const spec = lossCurve([run]);
  const before = JSON.stringify(spec);
  const bundle = await figure(spec)[JUPYTER_DISPLAY]();
  assert.ok("image/png" in bundle);
  assertEquals(await display(spec), undefined);
  assertEquals(await show(spec), undefined);
  assertEquals(await show(md`| a |\n|---|\n| 1 |`), undefined);
  assertEquals(await flushOutputs(), undefined);
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
