/**
 * Checks on an executed notebook: no error output, nothing on stderr, no Vega warnings (which include empty
 * figures), no execute_result (a cell's last expression is published after the kernel may have reported idle,
 * so stock nbconvert keeps it only by luck: use `await show(...)`), and every cell that should show something
 * did: a call to `show(`, `display(` or `figure(` (also as `plot.show(...)`; not `Deno.jupyter.display`) needs a
 * display output, a `console.log(` a text output. With `conditional: false` (a run where re-run cells are skipped)
 * only calls at statement level (column 0) are required. A figure is an output with `image/png` or
 * `image/svg+xml`.
 * @module
 */
import { svgHasMarks } from "../../lib/plot/render.ts";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  data?: Record<string, string | string[] | object>;
}

interface CodeCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}

/** What `verifyNotebook` found. */
export interface Verification {
  /** One line per problem, naming the cell (0-based, as in the .ipynb). */
  problems: string[];
  /** Figures (SVG outputs) seen. */
  figures: number;
  /** Code cells. */
  codeCells: number;
}

const join = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : s ?? "");

/** Code lines of a cell (comments removed); with `conditional: false` only the statement-level (column 0) ones. */
function codeLines(source: string, conditional: boolean): string {
  return source.split("\n").filter((l) => !/^\s*\/\//.test(l) && (conditional || /^\S/.test(l))).join("\n");
}

/** Whether a cell's code (comments removed) shows a figure or table (see the module doc for `conditional`). */
export function expectsFigure(source: string, conditional = true): boolean {
  return /(?<!jupyter\.)\b(show|display|figure)\(/.test(codeLines(source, conditional));
}

/** Whether a cell's code prints with console.log (see the module doc for `conditional`). */
export function expectsText(source: string, conditional = true): boolean {
  return /\bconsole\.log\(/.test(codeLines(source, conditional));
}

/** Options of `verifyNotebook`. */
export interface VerifyOptions {
  /** Whether calls inside blocks (re-run cells) must show too (default true: the quick size runs them all). */
  conditional?: boolean;
}

/** Check an executed notebook's JSON text. */
export function verifyNotebook(json: string, opts: VerifyOptions = {}): Verification {
  const conditional = opts.conditional ?? true;
  const nb = JSON.parse(json) as { cells: CodeCell[] };
  const problems: string[] = [];
  let figures = 0, codeCells = 0, notRun = 0;
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    codeCells++;
    if (cell.execution_count == null) {
      notRun++;
      return;
    }
    const outputs = cell.outputs ?? [];
    let images = 0, shown = 0, texts = 0;
    for (const o of outputs) {
      if (o.output_type === "error") {
        problems.push(`cell ${i}: ${o.ename}: ${(o.evalue ?? "").split("\n")[0]}`);
      } else if (o.output_type === "stream" && o.name === "stderr") {
        problems.push(`cell ${i} wrote to stderr: ${join(o.text).trim().split("\n")[0]}`);
      } else if (o.output_type === "stream") {
        texts++;
      } else if (o.output_type === "execute_result") {
        problems.push(
          `cell ${i} ends in an expression whose value is shown (execute_result): stock nbconvert can drop it; ` +
            "end the cell with `await show(...)` instead",
        );
      }
      if (o.output_type === "display_data" || o.output_type === "execute_result") shown++;
      const data = o.data ?? {};
      const plain = join(data["text/plain"] as string | string[] | undefined);
      for (const w of plain.split("\n").filter((l) => l.startsWith("warning: "))) {
        problems.push(`cell ${i}: Vega ${w}`);
      }
      if (data["image/png"] !== undefined || data["image/svg+xml"] !== undefined) images++;
      const svg = data["image/svg+xml"];
      if (svg === undefined) continue;
      const text = join(svg as string | string[]);
      if (text.includes('class="marks"') && !svgHasMarks(text)) {
        problems.push(`cell ${i} displayed an empty figure (axes but no data marks)`);
      }
    }
    figures += images;
    const source = join(cell.source);
    if (shown === 0 && expectsFigure(source, conditional)) {
      problems.push(`cell ${i} calls show(), display() or figure() but shows nothing (no display output)`);
    }
    if (texts === 0 && expectsText(source, conditional)) {
      problems.push(`cell ${i} calls console.log() but has no text output`);
    }
  });
  if (notRun) problems.push(`${notRun} of ${codeCells} code cells did not run`);
  return { problems, figures, codeCells };
}
