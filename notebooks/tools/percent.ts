/**
 * Notebooks are authored and committed as percent-format TypeScript (`notebooks/NN_name.ts`: `// %% [markdown]`
 * and `// %%` cells), so deno fmt, lint and check apply to them and diffs stay small; `.ipynb` files are built.
 * This module converts a source to a notebook (and reads a notebook's cells back).
 * @module
 */

/** One notebook cell. */
export interface Cell {
  type: "markdown" | "code";
  source: string;
}

const MARKER = /^\/\/ %%(?:\s+\[(markdown|md)\])?\s*$/;

/**
 * Cells of a percent-format source. Lines before the first `// %%` (a header comment) are not part of the
 * notebook. Markdown cells are comment lines; their `// ` prefix is removed.
 */
export function parsePercent(text: string, path = "source"): Cell[] {
  const cells: Cell[] = [];
  let current: { type: Cell["type"]; lines: string[]; at: number } | null = null;
  const flush = () => {
    if (!current) return;
    const lines = current.lines;
    while (lines.length && lines[0].trim() === "") lines.shift();
    while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
    if (lines.length === 0) throw new Error(`Empty cell in ${path} at line ${current.at}: remove the marker`);
    cells.push({ type: current.type, source: lines.join("\n") });
  };
  text.split("\n").forEach((line, i) => {
    const m = MARKER.exec(line);
    if (m) {
      flush();
      current = { type: m[1] ? "markdown" : "code", lines: [], at: i + 1 };
    } else if (/^\/\/ %%/.test(line)) {
      throw new Error(`Unknown cell marker in ${path} at line ${i + 1}: "${line}"; use "// %%" or "// %% [markdown]"`);
    } else if (current?.type === "markdown") {
      if (line.trim() !== "" && !/^\s*\/\/( |$)/.test(line)) {
        throw new Error(`Markdown cell in ${path} at line ${i + 1} has a line that is not a "// " comment: "${line}"`);
      }
      current.lines.push(line.replace(/^\s*\/\/ ?/, ""));
    } else if (current) {
      current.lines.push(line);
    }
  });
  flush();
  if (cells.length === 0) throw new Error(`No cells in ${path}: start cells with "// %%" or "// %% [markdown]"`);
  return cells;
}

/** Lines as .ipynb stores them: each keeps its newline except the last. */
function toLines(s: string): string[] {
  const lines = s.split("\n");
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l));
}

/** Notebook metadata for the Deno kernel (nbclient and nbconvert need `kernelspec.name = "deno"`). */
export const DENO_NOTEBOOK_METADATA = {
  kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
  language_info: {
    codemirror_mode: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    name: "typescript",
    nbconvert_exporter: "script",
    pygments_lexer: "typescript",
  },
};

/** An nbformat 4.5 notebook (no outputs, deterministic cell ids) as the JSON text to commit. */
export function buildNotebook(cells: readonly Cell[], name: string): string {
  const slug = name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 50);
  const nb = {
    cells: cells.map((c, i) => ({
      cell_type: c.type,
      ...(c.type === "code" ? { execution_count: null } : {}),
      id: `${slug}-${String(i).padStart(2, "0")}`,
      metadata: {},
      ...(c.type === "code" ? { outputs: [] } : {}),
      source: toLines(c.source),
    })),
    metadata: DENO_NOTEBOOK_METADATA,
    nbformat: 4,
    nbformat_minor: 5,
  };
  return JSON.stringify(nb, null, 1) + "\n";
}

/** The cells of a notebook's JSON text. */
export function notebookCells(json: string, path = "notebook"): Cell[] {
  let nb: { cells?: { cell_type: string; source: string | string[] }[] };
  try {
    nb = JSON.parse(json);
  } catch (e) {
    throw new Error(`Cannot parse ${path} as JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(nb.cells)) throw new Error(`Cannot read ${path}: it has no "cells" array`);
  return nb.cells
    .filter((c) => c.cell_type === "code" || c.cell_type === "markdown")
    .map((c) => ({
      type: c.cell_type as Cell["type"],
      source: Array.isArray(c.source) ? c.source.join("") : c.source,
    }));
}
