/**
 * Checks on an executed notebook: no error output, nothing on stderr, no Vega warnings, and the figure
 * convention — a code cell that calls `display(...)` or `figure(...)` (also as `plot.display(...)`; not
 * `Deno.jupyter.display`) must show at least one figure
 * (an `image/svg+xml` output), and no figure may be empty (a Vega SVG with axes but no data marks).
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

/** Whether a cell's code (comments removed) asks for a figure. */
export function expectsFigure(source: string): boolean {
  const code = source.split("\n").filter((l) => !/^\s*\/\//.test(l)).join("\n");
  return /(?<!jupyter\.)\b(display|figure)\(/.test(code);
}

/** Check an executed notebook's JSON text. */
export function verifyNotebook(json: string): Verification {
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
    let svgs = 0;
    for (const o of outputs) {
      if (o.output_type === "error") {
        problems.push(`cell ${i}: ${o.ename}: ${(o.evalue ?? "").split("\n")[0]}`);
      } else if (o.output_type === "stream" && o.name === "stderr") {
        problems.push(`cell ${i} wrote to stderr: ${join(o.text).trim().split("\n")[0]}`);
      }
      const data = o.data ?? {};
      const plain = join(data["text/plain"] as string | string[] | undefined);
      for (const w of plain.split("\n").filter((l) => l.startsWith("warning: "))) {
        problems.push(`cell ${i}: Vega ${w}`);
      }
      const svg = data["image/svg+xml"];
      if (svg === undefined) continue;
      svgs++;
      const text = join(svg as string | string[]);
      if (text.includes('class="marks"') && !svgHasMarks(text)) {
        problems.push(`cell ${i} displayed an empty figure (axes but no data marks)`);
      }
    }
    figures += svgs;
    if (svgs === 0 && expectsFigure(join(cell.source))) {
      problems.push(`cell ${i} calls display() or figure() but shows no figure (no image/svg+xml output)`);
    }
  });
  if (notRun) problems.push(`${notRun} of ${codeCells} code cells did not run`);
  return { problems, figures, codeCells };
}
