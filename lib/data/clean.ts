/**
 * Strip Project Gutenberg boilerplate that NLTK's copies still carry. Conservative on purpose: only exact marker
 * lines count, a start marker only in the first half of a book and an end marker only in the second half, so a
 * book that quotes a marker-like line in its body is never cut in two.
 * @module
 */

// A "*** START OF THE PROJECT GUTENBERG EBOOK ..." line ends the header; everything up to it goes.
const START_MARKER = /^\*{3} ?START OF (?:THE|THIS) PROJECT GUTENBERG.*$/gim;
// "*** END OF THE PROJECT GUTENBERG EBOOK ..." or the older "End of (the) Project Gutenberg('s) ..." line begins
// the footer (licence, small print); it and everything after it go.
const END_MARKERS = [/^\*{3} ?END OF (?:THE|THIS) PROJECT GUTENBERG.*$/gim, /^End of (?:the )?Project Gutenberg.*$/gim];
// NLTK puts the title on a first line of its own: "[Emma by Jane Austen 1816]".
const NLTK_TITLE = /^\[[^\[\]\n]{1,200}\][ \t]*(?:\n|$)/;

/** Options for {@linkcode stripGutenbergBoilerplate}. */
export interface StripOptions {
  /** Also drop NLTK's bracketed title line when it is the first non-blank line (default true). */
  titleLine?: boolean;
}

/**
 * Remove the Project Gutenberg header (through a `*** START OF ...` line), footer (from a `*** END OF ...` or
 * `End of Project Gutenberg...` line) and NLTK's bracketed title line, then leading and trailing blank lines.
 * Expects LF line endings (see `normalizeNewlines`).
 * @example
 * ```ts
 * import { stripGutenbergBoilerplate } from "./clean.ts";
 * const book = "[Emma by Jane Austen 1816]\n\nEmma Woodhouse...\n\n*** END OF THE PROJECT GUTENBERG EBOOK EMMA ***\nLicence";
 * stripGutenbergBoilerplate(book); // "Emma Woodhouse..."
 * ```
 */
export function stripGutenbergBoilerplate(text: string, options: StripOptions = {}): string {
  const half = text.length / 2;
  let start = 0;
  let end = text.length;
  for (const m of text.matchAll(START_MARKER)) {
    if (m.index < half) start = m.index + m[0].length;
  }
  for (const re of END_MARKERS) {
    for (const m of text.matchAll(re)) {
      if (m.index >= half && m.index < end) end = m.index;
    }
  }
  let body = trimBlankLines(text.slice(start, end));
  if (options.titleLine ?? true) body = trimBlankLines(body.replace(NLTK_TITLE, ""));
  return body;
}

/**
 * Drop blank (empty or whitespace-only) lines at the start and all trailing whitespace at the end, keeping the
 * indentation of the first line (poems are indented).
 */
export function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, "").trimEnd();
}
