/**
 * The notebook pipeline behind `deno task notebooks`: type-check the percent-format sources, build each notebook,
 * execute it headlessly with stock `jupyter nbconvert --to notebook --execute` (no custom client: the notebooks
 * publish through `await show(...)`, which waits until each output has reached the client) with a hermetic Deno
 * kernelspec, verify its outputs (`verify.ts`), and write offline HTML (`lab_offline.html.j2`).
 * @module
 */
import { buildNotebook, parsePercent } from "./percent.ts";
import { verifyNotebook } from "./verify.ts";

const TOOLS = new URL(".", import.meta.url).pathname;

/** How to get the Python side (Debian 12 packages; what the skip message prints). */
export const INSTALL_HINT = "apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel";

/** The external programs the pipeline uses. */
export interface Tools {
  /** A Python with nbclient, nbformat, jupyter_client and nbconvert. */
  python: string;
  /** Chromium for screenshots, if installed. */
  chromium: string | null;
}

async function run(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  try {
    const out = await new Deno.Command(cmd, { args, ...opts, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    return { code: -1, stdout: "", stderr: (e as Error).message };
  }
}

/**
 * Find Python with the Jupyter modules (`NK_PYTHON` if set, else Debian's /usr/bin/python3, then python3 on the
 * PATH) and Chromium; or why not.
 */
export async function findTools(): Promise<{ tools: Tools } | { skip: string }> {
  const modules = ["nbclient", "nbformat", "jupyter_client", "nbconvert"];
  const chosen = Deno.env.get("NK_PYTHON");
  let missing = "";
  for (const python of chosen ? [chosen] : ["/usr/bin/python3", "python3"]) {
    const r = await run(python, ["-c", `import ${modules.join(", ")}`]);
    if (r.code === 0) {
      const chromium = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => {
        try {
          return Deno.statSync(p).isFile;
        } catch {
          return false;
        }
      }) ?? null;
      return { tools: { python, chromium } };
    }
    if (!missing) missing = r.code === -1 ? `${python} not found` : r.stderr.trim().split("\n").at(-1) ?? "";
  }
  return { skip: `Jupyter is not installed (${missing}); to run the notebooks: ${INSTALL_HINT}` };
}

/**
 * Environment for a hermetic run: a kernelspec for this very deno (`Deno.execPath()`; `deno jupyter --install`
 * would write to ~/.local/share) found through JUPYTER_PATH, private runtime/config dirs, NO_COLOR for clean
 * text outputs, and the notebook size.
 */
export async function kernelEnv(tmp: string, size: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${tmp}/jupyter/kernels/deno`, { recursive: true });
  const spec = {
    argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
  };
  await Deno.writeTextFile(`${tmp}/jupyter/kernels/deno/kernel.json`, JSON.stringify(spec, null, 2) + "\n");
  for (const d of ["xdg", "runtime", "config"]) await Deno.mkdir(`${tmp}/${d}`, { mode: 0o700 });
  return {
    JUPYTER_PATH: `${tmp}/jupyter`,
    JUPYTER_RUNTIME_DIR: `${tmp}/runtime`,
    JUPYTER_CONFIG_DIR: `${tmp}/config`,
    XDG_RUNTIME_DIR: `${tmp}/xdg`,
    NO_COLOR: "1",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    NK_NOTEBOOK_SIZE: size,
  };
}

/** Percent-format sources (`NN_name.ts`) in a folder, sorted. */
export function sourcesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && /^\d\d_[\w-]+\.ts$/.test(e.name)).map((e) => e.name)
    .sort();
}

/** The notebook JSON built from a source in `dir`. */
export async function builtNotebook(dir: string, src: string): Promise<string> {
  return buildNotebook(
    parsePercent(await Deno.readTextFile(`${dir}/${src}`), `${dir}/${src}`),
    src.replace(/\.ts$/, ""),
  );
}

/**
 * Type-check sources with one `deno check` (the kernel itself does not type-check). A source is a module whose
 * code is exactly its notebook's code cells, so errors point at source lines. Returns errors per source file.
 */
export async function typeCheck(dir: string, sources: readonly string[]): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (sources.length === 0) return failed;
  const r = await run(Deno.execPath(), ["check", "--quiet", ...sources.map((s) => `${dir}/${s}`)], {
    env: { NO_COLOR: "1" },
  });
  if (r.code === 0) return failed;
  const text = (r.stderr + r.stdout).replace(/\s*Stack backtrace:[\s\S]*$/, "").trim();
  const named = sources.filter((s) => text.includes(`/${s}:`));
  for (const s of named.length ? named : sources) failed.set(s, `type check failed:\n${text}`);
  return failed;
}

/** Result of one notebook. */
export interface NotebookResult {
  name: string;
  ok: boolean;
  problems: string[];
  figures: number;
  /** Seconds per stage. */
  seconds: { build: number; execute: number; html: number; screenshot?: number; total: number };
  /** Files written. */
  outputs: string[];
}

/** Options of `runNotebook`. */
export interface RunOptions {
  tools: Tools;
  env: Record<string, string>;
  /** Where executed notebooks and HTML go. */
  outDir: string;
  /** Type-check errors of this source, if any (from `typeCheck`); execution is skipped then. */
  typeErrors?: string;
  /** Seconds per cell (default 900). */
  cellTimeout?: number;
  /** Calls inside blocks must show too (default true; false where re-run cells are skipped). */
  conditional?: boolean;
  /** Leave out per-cell execution timestamps (for notebooks that are committed). */
  noTiming?: boolean;
  /** Also take a Chromium screenshot of the HTML. */
  screenshot?: boolean;
}

/** Build, execute, verify and render the notebook of one source (`dir/NN_name.ts`). */
export async function runNotebook(dir: string, src: string, opts: RunOptions): Promise<NotebookResult> {
  const name = src.replace(/\.ts$/, "");
  const t0 = performance.now();
  const lap = (() => {
    let t = t0;
    return () => {
      const now = performance.now(), s = (now - t) / 1000;
      t = now;
      return Math.round(s * 10) / 10;
    };
  })();
  const result: NotebookResult = {
    name,
    ok: false,
    problems: [],
    figures: 0,
    seconds: { build: 0, execute: 0, html: 0, total: 0 },
    outputs: [],
  };
  const finish = () => {
    result.ok = result.problems.length === 0;
    result.seconds.total = Math.round((performance.now() - t0) / 100) / 10;
    return result;
  };
  if (opts.typeErrors) {
    result.problems.push(opts.typeErrors);
    return finish();
  }
  // nbconvert runs the kernel in the input's folder, so the input goes beside the sources (relative imports).
  const input = `${dir}/.nk-run-${Deno.pid}-${name}.ipynb`;
  try {
    await Deno.writeTextFile(input, await builtNotebook(dir, src));
  } catch (e) {
    result.problems.push((e as Error).message);
    return finish();
  }
  result.seconds.build = lap();
  const out = `${opts.outDir}/${name}.ipynb`;
  await Deno.remove(out).catch(() => {});
  const exec = await run(opts.tools.python, [
    "-m",
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    "--allow-errors",
    "--ExecutePreprocessor.kernel_name=deno",
    `--ExecutePreprocessor.timeout=${opts.cellTimeout ?? 900}`,
    ...(opts.noTiming ? ["--ExecutePreprocessor.record_timing=False"] : []),
    "--output-dir",
    opts.outDir,
    "--output",
    name,
    input,
  ], { env: opts.env });
  await Deno.remove(input).catch(() => {});
  result.seconds.execute = lap();
  if (exec.code !== 0) {
    // With --allow-errors a cell error is recorded in the notebook (verify reports it with its cell); a non-zero
    // exit is a dead kernel, a timeout or bad input, and nbconvert's last words are the explanation.
    const tail = exec.stderr.split("\n").filter((l) => l.trim() && !l.includes('"deno jupyter" is unstable'))
      .slice(-3).join(" | ");
    result.problems.push(`execution stopped (nbconvert exit ${exec.code}): ${tail}`);
  }
  let executed: string | null = null;
  try {
    executed = await Deno.readTextFile(out);
    result.outputs.push(out);
  } catch { /* nbconvert could not write it */ }
  if (executed === null) return finish();
  const v = verifyNotebook(executed, { conditional: opts.conditional });
  result.figures = v.figures;
  result.problems.push(...v.problems);
  const html = await run(opts.tools.python, [
    "-m",
    "nbconvert",
    "--to",
    "html",
    "--template-file",
    `${TOOLS}lab_offline.html.j2`,
    "--output-dir",
    opts.outDir,
    out,
  ], { env: opts.env });
  result.seconds.html = lap();
  if (html.code !== 0) result.problems.push(`HTML export failed: ${html.stderr.trim().slice(-1000)}`);
  else result.outputs.push(`${opts.outDir}/${name}.html`);
  if (opts.screenshot && html.code === 0) {
    const png = await screenshot(opts.tools, `${opts.outDir}/${name}.html`, `${opts.outDir}/${name}.png`, opts.env);
    result.seconds.screenshot = lap();
    if (png) result.outputs.push(png);
    else result.problems.push("screenshot failed (is chromium installed? apt-get install -y chromium)");
  }
  return finish();
}

/** Screenshot an HTML page with headless Chromium (NOTEBOOKS.md section 4); returns the PNG path or null. */
export async function screenshot(
  tools: Tools,
  html: string,
  png: string,
  env: Record<string, string>,
  size = "1000,4000",
): Promise<string | null> {
  if (!tools.chromium) return null;
  const profile = await Deno.makeTempDir();
  try {
    const abs = html.startsWith("/") ? html : `${Deno.cwd()}/${html}`;
    const r = await run(tools.chromium, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      "--hide-scrollbars",
      `--window-size=${size}`,
      "--virtual-time-budget=5000",
      `--screenshot=${png}`,
      `file://${abs}`,
    ], { env });
    return r.code === 0 ? png : null;
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
