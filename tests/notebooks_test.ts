/**
 * The notebooks: percent-format sources convert to notebooks, executed outputs are verified (errors, stderr,
 * missing or empty figures), and every notebook in notebooks/ runs headlessly through the same pipeline as
 * `deno task notebooks` (skipped, with the reason printed, where Jupyter is not installed).
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { buildNotebook, notebookCells, parsePercent } from "../notebooks/tools/percent.ts";
import { expectsFigure, verifyNotebook } from "../notebooks/tools/verify.ts";
import { findTools } from "../notebooks/tools/pipeline.ts";
import { runNotebooks } from "../notebooks/tools/main.ts";
import { renderSvg } from "../lib/plot/render.ts";

const SOURCE = `// header: not part of the notebook

// %% [markdown]
// # Title
//
// Some *text*.

// %%
const x = 1;
x + 1;

// %%
console.log(x);
`;

Deno.test("parsePercent: header dropped, markdown unprefixed, code cells trimmed", () => {
  assertEquals(parsePercent(SOURCE), [
    { type: "markdown", source: "# Title\n\nSome *text*." },
    { type: "code", source: "const x = 1;\nx + 1;" },
    { type: "code", source: "console.log(x);" },
  ]);
  assertThrows(() => parsePercent("const a = 1;\n", "a.ts"), /^No cells in a.ts/);
  assertThrows(() => parsePercent("// %%\n\n// %%\nx\n", "b.ts"), /^Empty cell in b.ts at line 1/);
  assertThrows(
    () => parsePercent("// %% [raw]\nx\n", "c.ts"),
    /^Unknown cell marker in c.ts at line 1: "\/\/ %% \[raw\]"/,
  );
  assertThrows(() => parsePercent("// %% [markdown]\nnot a comment\n", "d.ts"), /line 2 has a line that is not a/);
});

Deno.test("buildNotebook: nbformat 4.5 for the deno kernel, no outputs, stable ids, lines with newlines", () => {
  const json = buildNotebook(parsePercent(SOURCE), "00_demo");
  const nb = JSON.parse(json);
  assertEquals([nb.nbformat, nb.nbformat_minor, nb.metadata.kernelspec.name], [4, 5, "deno"]);
  assertEquals(nb.cells.map((c: { id: string }) => c.id), ["00_demo-00", "00_demo-01", "00_demo-02"]);
  assertEquals(nb.cells[1], {
    cell_type: "code",
    execution_count: null,
    id: "00_demo-01",
    metadata: {},
    outputs: [],
    source: ["const x = 1;\n", "x + 1;"],
  });
  assertEquals(notebookCells(json), parsePercent(SOURCE));
  assertEquals(buildNotebook(parsePercent(SOURCE), "00_demo"), json);
});

const code = (source: string, outputs: unknown[], ran = true) => ({
  cell_type: "code",
  source,
  execution_count: ran ? 1 : null,
  outputs,
});
const nbJson = (...cells: unknown[]) => JSON.stringify({ cells });

Deno.test("verifyNotebook: errors, stderr, Vega warnings, missing and empty figures are problems", async () => {
  const line = (values: unknown[]) => ({
    data: { values },
    mark: "line",
    encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
  });
  const full = (await renderSvg(line([{ a: 1, b: 1 }, { a: 2, b: 3 }]) as never)).svg;
  const empty = (await renderSvg(line([]) as never)).svg;
  const fig = (svg: string, plain = "<Vega-Lite figure: t>") => ({
    output_type: "display_data",
    data: { "image/svg+xml": svg, "text/plain": plain },
  });
  const ok = verifyNotebook(nbJson(
    { cell_type: "markdown", source: "display(x)" },
    code("await plot.display(spec);", [fig(full)]),
    code("figure(spec)", [{ ...fig(full), output_type: "execute_result" }]),
    code('// display(x) in a comment\nDeno.jupyter.display({ "text/plain": "hi" });', []),
  ));
  assertEquals(ok, { problems: [], figures: 2, codeCells: 3 });
  const bad = verifyNotebook(nbJson(
    code("throw new Error('boom')", [{ output_type: "error", ename: "Error", evalue: "boom\nmore" }]),
    code("console.error('x')", [{ output_type: "stream", name: "stderr", text: ["careful\n", "second\n"] }]),
    code("await display(spec)", []),
    code("await display(spec)", [fig(empty)]),
    code("await display(spec)", [fig(full, "<Vega-Lite figure: t>\nwarning: Infinite extent")]),
    code("await display(spec)", [], false),
  ));
  assertEquals(bad.problems, [
    "cell 0: Error: boom",
    "cell 1 wrote to stderr: careful",
    "cell 2 calls display() or figure() but shows no figure (no image/svg+xml output)",
    "cell 3 displayed an empty figure (axes but no data marks)",
    "cell 4: Vega warning: Infinite extent",
    "1 of 6 code cells did not run",
  ]);
  assert.ok(expectsFigure("const f = figure(lossCurve(runs));"));
  assert.ok(!expectsFigure("await Deno.jupyter.display(bundle, { raw: true });"));
});

const found = await findTools();
const skip = Deno.env.get("NK_SKIP_NOTEBOOKS") === "1"
  ? "NK_SKIP_NOTEBOOKS=1 is set"
  : "skip" in found
  ? found.skip
  : null;
if (skip) console.log(`notebooks test skipped: ${skip}`);

Deno.test({
  name: "notebooks: each source type-checks, executes headlessly at the quick size, shows its figures, exports HTML",
  ignore: skip !== null,
  fn: async () => {
    const outDir = await Deno.makeTempDir({ prefix: "nk-notebooks-test-" });
    try {
      const report = await runNotebooks({ outDir, size: "quick" });
      const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join("; ")}`);
      assertEquals(failed, []);
      assert.ok(report.results.some((r) => r.name === "00_quickstart" && r.figures >= 2));
      for (const r of report.results) {
        assertEquals(r.outputs.map((p) => p.replace(/^.*\//, "")), [`${r.name}.ipynb`, `${r.name}.html`]);
        const html = await Deno.readTextFile(`${outDir}/${r.name}.html`);
        if (r.figures > 0) assert.ok(/<svg[^>]*class="marks"/.test(html), `${r.name}.html shows its SVG figures`);
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
