/**
 * `deno task notebooks [NAME ...] [--build] [--screenshot] [--size quick|full] [--out DIR] [--timeout S]`
 *
 * Default: check that every `notebooks/NN_name.ipynb` matches its source `NN_name.ts`, then type-check, execute
 * (NK_NOTEBOOK_SIZE=quick unless --size full), verify and export each notebook (or only those named) to
 * `notebooks/_out/` as executed .ipynb and offline .html; exit 1 on any problem. Without Jupyter it prints why
 * and how to install it, and exits 0. `--build` only regenerates the .ipynb files from their sources.
 * @module
 */
import { buildAll, findTools, kernelEnv, type NotebookResult, runNotebook, staleNotebooks } from "./pipeline.ts";

/** Where the notebooks live. */
export const NOTEBOOKS_DIR: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Options of `runNotebooks`. */
export interface RunNotebooksOptions {
  /** Notebook names (with or without .ipynb); default all. */
  names?: string[];
  /** Output folder (default notebooks/_out). */
  outDir?: string;
  /** NK_NOTEBOOK_SIZE for the kernel (default "quick"). */
  size?: string;
  screenshot?: boolean;
  /** Seconds per cell. */
  cellTimeout?: number;
  /** Called as each notebook finishes. */
  onResult?: (r: NotebookResult) => void;
}

/** What a run did: skipped (with the reason), or per-notebook results plus problems with the sources. */
export interface RunNotebooksReport {
  skipped?: string;
  stale: string[];
  results: NotebookResult[];
  seconds: number;
}

/** Run the pipeline over the notebooks. */
export async function runNotebooks(opts: RunNotebooksOptions = {}): Promise<RunNotebooksReport> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const stale = await staleNotebooks(NOTEBOOKS_DIR);
  const found = await findTools();
  if ("skip" in found) return { skipped: found.skip, stale, results: [], seconds: seconds() };
  const all = [...Deno.readDirSync(NOTEBOOKS_DIR)].filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => e.name.replace(/\.ipynb$/, "")).sort();
  const wanted = (opts.names ?? []).map((n) => n.replace(/^.*\//, "").replace(/\.(ipynb|ts)$/, ""));
  for (const n of wanted) {
    if (!all.includes(n)) throw new Error(`No notebook "${n}" in ${NOTEBOOKS_DIR}: expected one of ${all.join(", ")}`);
  }
  const outDir = opts.outDir ?? `${NOTEBOOKS_DIR}/_out`;
  await Deno.mkdir(outDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "nk-notebooks-" });
  const results: NotebookResult[] = [];
  try {
    const env = await kernelEnv(tmp, opts.size ?? "quick");
    for (const name of wanted.length ? wanted : all) {
      const r = await runNotebook(`${NOTEBOOKS_DIR}/${name}.ipynb`, {
        tools: found.tools,
        env,
        outDir,
        cellTimeout: opts.cellTimeout,
        screenshot: opts.screenshot,
      });
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return { stale, results, seconds: seconds() };
}

function parseArgs(args: string[]) {
  const o = { build: false, screenshot: false, size: "quick", out: undefined as string | undefined, timeout: 900 };
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`Missing value for ${a}`);
      return v;
    };
    if (a === "--build") o.build = true;
    else if (a === "--screenshot") o.screenshot = true;
    else if (a.startsWith("--size")) o.size = value();
    else if (a.startsWith("--out")) o.out = value();
    else if (a.startsWith("--timeout")) o.timeout = Number(value());
    else if (a.startsWith("-")) {
      throw new Error(`Unknown flag "${a}": expected --build, --screenshot, --size, --out or --timeout`);
    } else names.push(a);
  }
  if (!["quick", "full"].includes(o.size)) throw new Error(`Invalid --size "${o.size}": expected "quick" or "full"`);
  if (!(o.timeout > 0)) throw new Error(`Invalid --timeout "${o.timeout}": expected seconds > 0`);
  return { ...o, names };
}

async function main(): Promise<number> {
  if (Deno.args.includes("-h") || Deno.args.includes("--help")) {
    console.log(
      "deno task notebooks [NAME ...] [--build] [--screenshot] [--size quick|full] [--out DIR] [--timeout S]",
    );
    return 0;
  }
  const a = parseArgs(Deno.args);
  if (a.build) {
    const written = await buildAll(NOTEBOOKS_DIR);
    console.log(written.length ? written.map((p) => `built ${p}`).join("\n") : "notebooks are up to date");
    return 0;
  }
  const report = await runNotebooks({
    names: a.names,
    outDir: a.out,
    size: a.size,
    screenshot: a.screenshot,
    cellTimeout: a.timeout,
    onResult: (r) => {
      const t = r.seconds;
      const time = `check ${t.check}s, execute ${t.execute}s, html ${t.html}s` +
        (t.screenshot !== undefined ? `, screenshot ${t.screenshot}s` : "");
      console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.figures} figures, ${t.total}s (${time})`);
      for (const p of r.problems) console.log(`     ${p.replaceAll("\n", "\n     ")}`);
    },
  });
  for (const s of report.stale) console.log(`FAIL ${s}`);
  if (report.skipped) {
    console.log(`notebooks skipped: ${report.skipped}`);
    return report.stale.length ? 1 : 0;
  }
  const failed = report.results.filter((r) => !r.ok).length + report.stale.length;
  console.log(
    `${report.results.length} notebooks in ${report.seconds}s, ${failed ? `${failed} problems` : "all ok"}; ` +
      `outputs in ${a.out ?? `${NOTEBOOKS_DIR}/_out`}`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
