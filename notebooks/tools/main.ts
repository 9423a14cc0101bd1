/**
 * `deno task notebooks [NAME ...] [--size quick|reference] [--write] [--rerun] [--screenshot] [--out DIR]
 * [--timeout S]`
 *
 * Notebooks are authored as percent-format sources, `notebooks/NN_name.ts`. This type-checks them, builds each
 * notebook, executes it with stock `jupyter nbconvert --execute` (NK_NOTEBOOK_SIZE=quick by default: plots the
 * committed reference results and re-runs the experiment at its quick size), verifies its outputs and writes the
 * executed .ipynb and an offline .html to `notebooks/_out/`; exit 1 on any problem. `--size reference` skips
 * the re-runs (`--rerun` re-runs the reference size in place, NK_RERUN=1: hours). `--write` also copies each
 * executed notebook that passed to `notebooks/NN_name.ipynb`, the committed notebooks with outputs
 * (`--size reference --write` regenerates them). Without Jupyter it prints why and how to install it, exit 0.
 * @module
 */
import { findTools, kernelEnv, type NotebookResult, runNotebook, sourcesIn, typeCheck } from "./pipeline.ts";

/** Where the notebooks live. */
export const NOTEBOOKS_DIR: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Options of `runNotebooks`. */
export interface RunNotebooksOptions {
  /** Notebook names (with or without .ipynb); default all. */
  names?: string[];
  /** Output folder (default notebooks/_out). */
  outDir?: string;
  /** NK_NOTEBOOK_SIZE for the kernel (default "quick"). */
  size?: "quick" | "reference";
  /** Re-run the reference experiments in place (NK_RERUN=1). */
  rerun?: boolean;
  /** Copy each executed notebook that passed to notebooks/NN_name.ipynb. */
  write?: boolean;
  screenshot?: boolean;
  /** Seconds per cell. */
  cellTimeout?: number;
  /** Called as each notebook finishes. */
  onResult?: (r: NotebookResult) => void;
}

/** What a run did: skipped (with the reason), or per-notebook results. */
export interface RunNotebooksReport {
  skipped?: string;
  results: NotebookResult[];
  /** Seconds for the one type check of all sources, and for everything. */
  seconds: { typeCheck: number; total: number };
}

/** Run the pipeline over the notebooks. */
export async function runNotebooks(opts: RunNotebooksOptions = {}): Promise<RunNotebooksReport> {
  const t0 = performance.now();
  const since = (t: number) => Math.round((performance.now() - t) / 100) / 10;
  const all = sourcesIn(NOTEBOOKS_DIR);
  const wanted = (opts.names ?? []).map((n) => `${n.replace(/^.*\//, "").replace(/\.(ipynb|ts)$/, "")}.ts`);
  for (const n of wanted) {
    if (!all.includes(n)) {
      throw new Error(`No notebook source "${n}" in ${NOTEBOOKS_DIR}: expected one of ${all.join(", ")}`);
    }
  }
  const found = await findTools();
  if ("skip" in found) return { skipped: found.skip, results: [], seconds: { typeCheck: 0, total: since(t0) } };
  const sources = wanted.length ? wanted : all;
  const typeErrors = await typeCheck(NOTEBOOKS_DIR, sources);
  const typeCheckSeconds = since(t0);
  const outDir = opts.outDir ?? `${NOTEBOOKS_DIR}/_out`;
  await Deno.mkdir(outDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "nk-notebooks-" });
  const results: NotebookResult[] = [];
  try {
    const size = opts.size ?? "quick";
    const env = { ...await kernelEnv(tmp, size), ...(opts.rerun ? { NK_RERUN: "1" } : {}) };
    for (const src of sources) {
      const r = await runNotebook(NOTEBOOKS_DIR, src, {
        tools: found.tools,
        env,
        outDir,
        typeErrors: typeErrors.get(src),
        cellTimeout: opts.cellTimeout,
        screenshot: opts.screenshot,
        conditional: size === "quick" || opts.rerun === true,
        noTiming: opts.write,
      });
      if (opts.write && r.ok) {
        const dest = `${NOTEBOOKS_DIR}/${r.name}.ipynb`;
        await Deno.copyFile(`${outDir}/${r.name}.ipynb`, dest);
        r.outputs.push(dest);
      }
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return { results, seconds: { typeCheck: typeCheckSeconds, total: since(t0) } };
}

/** The sizes `--size` accepts ("full" is an alias of "reference"). */
const SIZES: Record<string, "quick" | "reference"> = { quick: "quick", reference: "reference", full: "reference" };

const USAGE = "deno task notebooks [NAME ...] [--size quick|reference] [--write] [--rerun] [--screenshot] " +
  "[--out DIR] [--timeout S]";

function parseArgs(args: string[]) {
  const o = {
    write: false,
    rerun: false,
    screenshot: false,
    size: "quick",
    out: undefined as string | undefined,
    timeout: 900,
  };
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`Missing value for ${a}`);
      return v;
    };
    if (a === "--write") o.write = true;
    else if (a === "--rerun") o.rerun = true;
    else if (a === "--screenshot") o.screenshot = true;
    else if (a.startsWith("--size")) o.size = value();
    else if (a.startsWith("--out")) o.out = value();
    else if (a.startsWith("--timeout")) o.timeout = Number(value());
    else if (a.startsWith("-")) {
      throw new Error(`Unknown flag "${a}": expected --size, --write, --rerun, --screenshot, --out or --timeout`);
    } else names.push(a);
  }
  const size = SIZES[o.size];
  if (!size) throw new Error(`Invalid --size "${o.size}": expected "quick" or "reference"`);
  if (!(o.timeout > 0)) throw new Error(`Invalid --timeout "${o.timeout}": expected seconds > 0`);
  if (o.write && size !== "reference") {
    throw new Error("--write needs --size reference: the committed notebooks show the reference results");
  }
  return { ...o, size, names };
}

async function main(): Promise<number> {
  if (Deno.args.includes("-h") || Deno.args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const a = parseArgs(Deno.args);
  const report = await runNotebooks({
    names: a.names,
    outDir: a.out,
    size: a.size,
    write: a.write,
    rerun: a.rerun,
    screenshot: a.screenshot,
    cellTimeout: a.timeout,
    onResult: (r) => {
      const t = r.seconds;
      const time = `build ${t.build}s, execute ${t.execute}s, html ${t.html}s` +
        (t.screenshot !== undefined ? `, screenshot ${t.screenshot}s` : "");
      console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.figures} figures, ${t.total}s (${time})`);
      for (const p of r.problems) console.log(`     ${p.replaceAll("\n", "\n     ")}`);
    },
  });
  if (report.skipped) {
    console.log(`notebooks skipped: ${report.skipped}`);
    return 0;
  }
  const failed = report.results.filter((r) => !r.ok).length;
  console.log(
    `${report.results.length} notebooks in ${report.seconds.total}s (type check ${report.seconds.typeCheck}s), ` +
      `${failed ? `${failed} failed` : "all ok"}; outputs in ${a.out ?? `${NOTEBOOKS_DIR}/_out`}`,
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
