/**
 * The notebooks: percent-format sources convert to notebooks; executed outputs are verified (errors, stderr,
 * execute_results, cells whose show()/console.log produced nothing, empty figures); with Jupyter installed,
 * `show()` outputs survive stock `nbconvert --execute`, every notebook runs through stock nbconvert at the quick
 * size and renders with stock `nbconvert --to html` with every figure an image with pixels; the committed
 * `notebooks/NN_name.ipynb` match their sources and carry their outputs. Tests that need Jupyter or the
 * committed notebooks are skipped with the reason printed.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { buildNotebook, notebookCells, parsePercent } from "../notebooks/tools/percent.ts";
import { expectsFigure, expectsText, verifyNotebook } from "../notebooks/tools/verify.ts";
import { findTools, kernelEnv, sourcesIn, type Tools } from "../notebooks/tools/pipeline.ts";
import { NOTEBOOKS_DIR, runNotebooks } from "../notebooks/tools/main.ts";
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

Deno.test("verifyNotebook: errors, stderr, execute_results, missing outputs and empty figures are problems", async () => {
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
  const png = { output_type: "display_data", data: { "image/png": "iVBO", "text/plain": "<Vega-Lite figure: t>" } };
  const table = { output_type: "display_data", data: { "text/html": "<table></table>", "text/markdown": "|a|" } };
  const text = { output_type: "stream", name: "stdout", text: ["hi\n"] };
  const ok = verifyNotebook(
    nbJson(
      { cell_type: "markdown", source: "display(x)" },
      code("await plot.display(spec);", [fig(full)]),
      code("await plot.show(spec);\nconsole.log('x');\nawait plot.flushOutputs();", [png, text]),
      code("await show(md`| a |`);", [table]),
      code('// display(x) in a comment\nDeno.jupyter.display({ "text/plain": "hi" });', []),
      code("if (quick) {\n  await show(spec);\n  console.log(1);\n}", []),
    ),
    { conditional: false },
  );
  assertEquals(ok, { problems: [], figures: 2, codeCells: 5 });
  const bad = verifyNotebook(nbJson(
    code("throw new Error('boom')", [{ output_type: "error", ename: "Error", evalue: "boom\nmore" }]),
    code("console.error('x')", [{ output_type: "stream", name: "stderr", text: ["careful\n", "second\n"] }]),
    code("await display(spec)", []),
    code("await display(spec)", [fig(empty)]),
    code("await display(spec)", [fig(full, "<Vega-Lite figure: t>\nwarning: Infinite extent")]),
    code("await display(spec)", [], false),
    code("figure(spec)", [{ ...fig(full), output_type: "execute_result" }]),
    code("if (quick) {\n  console.log(1);\n}", []),
  ));
  assertEquals(bad.problems, [
    "cell 0: Error: boom",
    "cell 1 wrote to stderr: careful",
    "cell 2 calls show(), display() or figure() but shows nothing (no display output)",
    "cell 3 displayed an empty figure (axes but no data marks)",
    "cell 4: Vega warning: Infinite extent",
    "cell 6 ends in an expression whose value is shown (execute_result): stock nbconvert can drop it; " +
    "end the cell with `await show(...)` instead",
    "cell 7 calls console.log() but has no text output",
    "1 of 8 code cells did not run",
  ]);
  assert.ok(expectsFigure("const f = figure(lossCurve(runs));"));
  assert.ok(expectsFigure("await plot.show(plot.md`x`);"));
  assert.ok(!expectsFigure("await Deno.jupyter.display(bundle, { raw: true });"));
  assert.ok(!expectsFigure("if (quick) {\n  await show(x);\n}", false));
  assert.ok(expectsText("for (const x of xs) console.log(x);", false));
});

/** The PNGs an nbconvert HTML page shows inline (`<img src="data:image/png;base64,…">`). */
function htmlPngs(html: string): Uint8Array[] {
  return [...html.matchAll(/<img\b[^>]*src="data:image\/png;base64,([^"]+)"/g)].map((m) =>
    Uint8Array.from(atob(m[1].replace(/\s/g, "")), (c) => c.charCodeAt(0))
  );
}

/** Width, height and the number of distinct byte values of a PNG's decompressed pixel rows. */
async function pngPixels(png: Uint8Array): Promise<{ width: number; height: number; distinct: number }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array[] = [];
  for (let o = 8; o + 8 <= png.length;) {
    const len = view.getUint32(o), type = new TextDecoder().decode(png.subarray(o + 4, o + 8));
    if (type === "IDAT") idat.push(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = new Uint8Array(
    await new Response(
      new Blob(idat as BlobPart[]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  return { width: view.getUint32(16), height: view.getUint32(20), distinct: new Set(raw).size };
}

/** Render a notebook with stock `nbconvert --to html` (no template) and return the page. */
async function stockHtml(tools: Tools, env: Record<string, string>, ipynb: string, outDir: string) {
  const out = await new Deno.Command(tools.python, {
    args: ["-m", "nbconvert", "--to", "html", "--output-dir", outDir, ipynb],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return await Deno.readTextFile(`${outDir}/${ipynb.replace(/^.*\//, "").replace(/\.ipynb$/, ".html")}`);
}

/** Check that a stock HTML page shows `figures` images, each with real pixels. */
async function assertImagesWithPixels(html: string, figures: number, what: string) {
  const pngs = htmlPngs(html);
  assertEquals(pngs.length, figures, `${what}: one <img> per figure`);
  for (const png of pngs) {
    const p = await pngPixels(png);
    assert.ok(p.width > 0 && p.height > 0 && p.distinct > 16, `${what}: an image with pixels (${JSON.stringify(p)})`);
  }
  assert.ok(!/<svg[^>]*>\s*<\/svg>/.test(html), `${what}: no blank SVG box`);
}

const found = await findTools();
const skip = Deno.env.get("NK_SKIP_NOTEBOOKS") === "1"
  ? "NK_SKIP_NOTEBOOKS=1 is set"
  : "skip" in found
  ? found.skip
  : null;
if (skip) console.log(`notebooks test skipped: ${skip}`);

Deno.test({
  name: "show() outputs survive stock nbconvert --execute: figures, tables and flushed console.log, every cell",
  ignore: skip !== null,
  fn: async () => {
    const tools = (found as { tools: Tools }).tools;
    const tmp = await Deno.makeTempDir({ prefix: "nk-show-test-" });
    // nbconvert runs the kernel in the input's folder: the input sits beside the sources so ../lib resolves.
    const input = `${NOTEBOOKS_DIR}/.nk-run-${Deno.pid}-show-test.ipynb`;
    const cells = [
      "import * as plot from '../lib/plot/mod.ts';\n" +
      "const recs = Array.from({ length: 400 }, (_, i) => ({ kind: 'train' as const, step: i + 1, tokens: 0, " +
      "flops: 0, time: 0, lr: 1e-3, loss: 5 / (i + 1) + (i % 7) / 10, gradNorm: 1 }));",
    ];
    const N = 8;
    for (let i = 0; i < N; i++) {
      cells.push(`await plot.show(plot.lossCurve([{ name: "run ${i}", records: recs }]));`);
      cells.push(`await plot.show(plot.md\`| cell | value |\\n|---|---|\\n| ${i} | ${i * i} |\`);`);
      cells.push(`console.log("line ${i}");\nawait plot.flushOutputs();`);
    }
    try {
      await Deno.writeTextFile(input, buildNotebook(cells.map((source) => ({ type: "code", source })), "show-test"));
      const env = await kernelEnv(tmp, "quick");
      const out = await new Deno.Command(tools.python, {
        args: [
          "-m",
          "nbconvert",
          "--to",
          "notebook",
          "--execute",
          "--ExecutePreprocessor.kernel_name=deno",
          "--output-dir",
          tmp,
          "--output",
          "executed",
          input,
        ],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
      const executed = await Deno.readTextFile(`${tmp}/executed.ipynb`);
      const v = verifyNotebook(executed);
      assertEquals(v.problems, []);
      assertEquals(v.figures, N);
      const nb = JSON.parse(executed) as { cells: { outputs: { output_type: string; text?: string[] }[] }[] };
      const kinds = nb.cells.slice(1).map((c) => c.outputs.map((o) => o.output_type).join(","));
      assertEquals(kinds, Array.from({ length: 3 * N }, (_, i) => (i % 3 === 2 ? "stream" : "display_data")));
      await assertImagesWithPixels(await stockHtml(tools, env, `${tmp}/executed.ipynb`, tmp), N, "show test");
    } finally {
      await Deno.remove(input).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "notebooks: each executes through stock nbconvert at the quick size, shows what it should, stock HTML has pixels",
  ignore: skip !== null,
  fn: async () => {
    const tools = (found as { tools: Tools }).tools;
    const outDir = await Deno.makeTempDir({ prefix: "nk-notebooks-test-" });
    try {
      const report = await runNotebooks({ outDir, size: "quick" });
      const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join("; ")}`);
      assertEquals(failed, []);
      assertEquals(report.results.map((r) => `${r.name}.ts`), sourcesIn(NOTEBOOKS_DIR));
      assert.ok(report.results.some((r) => r.name === "00_quickstart" && r.figures >= 2));
      const env = await kernelEnv(outDir, "quick");
      const stock = `${outDir}/stock`;
      await Deno.mkdir(stock);
      for (const r of report.results) {
        assertEquals(r.outputs.map((p) => p.replace(/^.*\//, "")), [`${r.name}.ipynb`, `${r.name}.html`]);
        const ours = await Deno.readTextFile(`${outDir}/${r.name}.html`);
        assert.ok(!ours.includes("MathJax"), `${r.name}.html loads no MathJax`);
        await assertImagesWithPixels(
          await stockHtml(tools, env, `${outDir}/${r.name}.ipynb`, stock),
          r.figures,
          r.name,
        );
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});

const committed = sourcesIn(NOTEBOOKS_DIR).map((src) => ({
  src,
  ipynb: `${NOTEBOOKS_DIR}/${src.replace(/\.ts$/, ".ipynb")}`,
})).filter((n) => {
  try {
    return Deno.statSync(n.ipynb).isFile;
  } catch {
    return false;
  }
});
const noCommitted = committed.length === 0
  ? "no committed notebooks/NN_name.ipynb yet (regenerate them with `deno task notebooks --size reference --write`)"
  : null;
if (noCommitted) console.log(`committed-notebook tests skipped: ${noCommitted}`);

Deno.test({
  name: "committed notebooks: one per source, cells identical to the .ts, every cell executed and verified",
  ignore: noCommitted !== null,
  fn: async () => {
    const missing = sourcesIn(NOTEBOOKS_DIR).filter((s) => !committed.some((c) => c.src === s));
    assertEquals(missing, [], "every source has its committed notebook (deno task notebooks --size reference --write)");
    for (const { src, ipynb } of committed) {
      const json = await Deno.readTextFile(ipynb);
      const expected = parsePercent(await Deno.readTextFile(`${NOTEBOOKS_DIR}/${src}`), src);
      assertEquals(
        notebookCells(json, ipynb),
        expected,
        `${ipynb} differs from ${src}: regenerate with deno task notebooks ${
          src.replace(/\.ts$/, "")
        } --size reference --write`,
      );
      const v = verifyNotebook(json, { conditional: false });
      assertEquals(v.problems, [], `${ipynb} has problems`);
      assertEquals(JSON.parse(json).metadata.kernelspec.name, "deno");
    }
  },
});

Deno.test({
  name: "committed notebooks render with stock nbconvert --to html, every figure an image with pixels",
  ignore: noCommitted !== null || skip !== null,
  fn: async () => {
    const tools = (found as { tools: Tools }).tools;
    const tmp = await Deno.makeTempDir({ prefix: "nk-committed-html-" });
    try {
      const env = await kernelEnv(tmp, "reference");
      for (const { ipynb } of committed) {
        const v = verifyNotebook(await Deno.readTextFile(ipynb), { conditional: false });
        await assertImagesWithPixels(await stockHtml(tools, env, ipynb, tmp), v.figures, ipynb);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
