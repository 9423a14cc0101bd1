/**
 * A small Markdown → HTML converter for the text that notebooks compute (pipe tables, bullet lists, headings,
 * paragraphs, `code`, **bold**, *italic*, [links](url)), so a table also travels as `text/html`: an untrusted
 * classic Notebook, nbconvert and GitHub all render HTML, not every one renders `text/markdown`. Everything else
 * is escaped and shown as text; no HTML passes through.
 * @module
 */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** Inline Markdown of one line or cell → HTML. */
export function inlineHtml(text: string): string {
  const codes: string[] = [];
  let s = text.replace(/`([^`]+)`/g, (_, c: string) => `\u0001${codes.push(c) - 1}\u0002`);
  s = escapeHtml(s)
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w*])\*([^*\s][^*]*)\*(?![\w*])/g, "$1<em>$2</em>")
    .replace(/(^|[^\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>")
    .replace(
      /\[([^\]]+)\]\(([^)\s]+)\)/g,
      (_, t: string, url: string) =>
        /^(https?:|#|\.{0,2}\/|[\w.-]+$)/.test(url) ? `<a href="${url}">${t}</a>` : `${t} (${url})`,
    );
  // deno-lint-ignore no-control-regex
  return s.replace(/\u0001(\d+)\u0002/g, (_, i: string) => `<code>${escapeHtml(codes[Number(i)])}</code>`);
}

const isTableRow = (l: string) => /^\s*\|.*\|\s*$/.test(l);
const isSeparator = (l: string) => /^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(l);
const LIST_ITEM = /^\s{0,3}[-*+]\s+(.*)$/;

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

/**
 * Convert Markdown to an HTML fragment.
 * @example
 * ```ts
 * import { markdownToHtml } from "./markdown.ts";
 * console.log(markdownToHtml("| a | b |\n|---|---|\n| 1 | **2** |"));
 * // <table>
 * // <thead><tr><th>a</th><th>b</th></tr></thead>
 * // <tbody>
 * // <tr><td>1</td><td><strong>2</strong></td></tr>
 * // </tbody>
 * // </table>
 * ```
 */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let para: string[] = [];
  let list: string[] | null = null;
  const flushPara = () => {
    if (para.length) out.push(`<p>${para.map(inlineHtml).join("<br>\n")}</p>`);
    para = [];
  };
  const flushList = () => {
    if (list) out.push(`<ul>\n${list.map((i) => `<li>${inlineHtml(i)}</li>`).join("\n")}\n</ul>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") {
      flushPara();
      flushList();
      continue;
    }
    if (isTableRow(line) && i + 1 < lines.length && isSeparator(lines[i + 1])) {
      flushPara();
      flushList();
      const head = cells(line);
      const rows: string[][] = [];
      for (i += 2; i < lines.length && isTableRow(lines[i]); i++) rows.push(cells(lines[i]));
      i--;
      out.push(
        `<table>\n<thead><tr>${head.map((c) => `<th>${inlineHtml(c)}</th>`).join("")}</tr></thead>\n<tbody>\n` +
          rows.map((r) => `<tr>${r.map((c) => `<td>${inlineHtml(c)}</td>`).join("")}</tr>`).join("\n") +
          "\n</tbody>\n</table>",
      );
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flushPara();
      flushList();
      out.push(`<h${heading[1].length}>${inlineHtml(heading[2])}</h${heading[1].length}>`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      flushPara();
      (list ??= []).push(item[1]);
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      (list as string[])[(list as string[]).length - 1] += ` ${line.trim()}`;
      continue;
    }
    flushList();
    para.push(line.trim());
  }
  flushPara();
  flushList();
  return out.join("\n");
}
