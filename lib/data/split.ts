/**
 * Split documents contiguously into train/valid/test at paragraph boundaries (a paragraph ends at a blank line).
 * Each book contributes its first ~90% to train, the next ~5% to valid and the last ~5% to test, so every split
 * sees every author and, except where a book's paragraphs are too coarse (then lines are the unit, see
 * {@linkcode splitDocument}), no paragraph straddles two splits. Deterministic: no randomness at all.
 * @module
 */
import { trimBlankLines } from "./clean.ts";

/** The three split names, in file order. */
export const SPLIT_NAMES = ["train", "valid", "test"] as const;

/** A split name: `train`, `valid` or `test`. */
export type SplitName = typeof SPLIT_NAMES[number];

/** Fractions of each document for train, valid and test; they must sum to 1. */
export type SplitFractions = readonly [train: number, valid: number, test: number];

/** The default split, 90/5/5. */
export const DEFAULT_FRACTIONS: SplitFractions = [0.9, 0.05, 0.05];

/** Text of each split. */
export type SplitTexts = Record<SplitName, string>;

/** Separator between documents within one split file: two blank lines, one more than between paragraphs. */
export const DOCUMENT_SEPARATOR = "\n\n\n";

/**
 * Offsets (UTF-16 code units) where a paragraph starts, after a run of one or more blank lines; 0 is not included.
 * Lines holding only spaces or tabs count as blank.
 */
export function paragraphStarts(text: string): number[] {
  const starts: number[] = [];
  for (const m of text.matchAll(/\n(?:[ \t]*\n)+/g)) {
    const at = m.index + m[0].length;
    if (at < text.length) starts.push(at);
  }
  return starts;
}

/** Check split fractions: three finite non-negative numbers summing to 1. */
export function checkFractions(fractions: readonly number[]): SplitFractions {
  const ok = fractions.length === 3 && fractions.every((f) => Number.isFinite(f) && f >= 0) &&
    Math.abs(fractions[0] + fractions[1] + fractions[2] - 1) < 1e-9;
  if (!ok) {
    throw new Error(
      `Split fractions ${JSON.stringify(fractions)} are invalid: expected three non-negative numbers summing to 1`,
    );
  }
  return fractions as unknown as SplitFractions;
}

/** Offsets where a line starts (after each "\n"); 0 is not included. */
export function lineStarts(text: string): number[] {
  const starts: number[] = [];
  for (let i = text.indexOf("\n"); i !== -1 && i + 1 < text.length; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/**
 * Split one document at the paragraph starts nearest to the cumulative fractions (by UTF-16 code units). Train is
 * never empty. When paragraphs are too coarse for that to give every split at least half its share (Paradise Lost
 * has one paragraph per Book, each ~10% of the poem), the cuts fall back to line starts. Each part
 * is trimmed of blank lines at both ends.
 * @example
 * ```ts
 * import { splitDocument } from "./split.ts";
 * const doc = Array.from({ length: 20 }, (_, i) => `Paragraph ${i}.`).join("\n\n");
 * const parts = splitDocument(doc); // train: paragraphs 0–17, valid: 18, test: 19
 * ```
 */
export function splitDocument(text: string, fractions: SplitFractions = DEFAULT_FRACTIONS): SplitTexts {
  checkFractions(fractions);
  const body = trimBlankLines(text);
  const n = body.length;
  let [cut1, cut2] = cutsAt(paragraphStarts(body), fractions, n);
  // A split is starved when it gets less than half its share.
  const sizes = [cut1, cut2 - cut1, n - cut2];
  if (sizes.some((size, i) => size < fractions[i] * n / 2)) [cut1, cut2] = cutsAt(lineStarts(body), fractions, n);
  return {
    train: trimBlankLines(body.slice(0, cut1)),
    valid: trimBlankLines(body.slice(cut1, cut2)),
    test: trimBlankLines(body.slice(cut2)),
  };
}

/** The two cut offsets among ascending `starts`: train takes at least one unit; valid may be empty. */
function cutsAt(starts: number[], fractions: SplitFractions, n: number): [number, number] {
  const cut1 = nearest([...starts, n], fractions[0] * n);
  const cut2 = nearest([cut1, ...starts.filter((s) => s > cut1), n], (fractions[0] + fractions[1]) * n);
  return [cut1, cut2];
}

/**
 * Split each document with {@linkcode splitDocument} and join each split's parts in document order, separated by
 * {@linkcode DOCUMENT_SEPARATOR} and ending in one newline. Empty parts are skipped.
 */
export function splitDocuments(texts: readonly string[], fractions: SplitFractions = DEFAULT_FRACTIONS): SplitTexts {
  const parts: Record<SplitName, string[]> = { train: [], valid: [], test: [] };
  for (const text of texts) {
    const split = splitDocument(text, fractions);
    for (const name of SPLIT_NAMES) if (split[name]) parts[name].push(split[name]);
  }
  return { train: joinParts(parts.train), valid: joinParts(parts.valid), test: joinParts(parts.test) };
}

/** Join one split's parts: {@linkcode DOCUMENT_SEPARATOR} between documents, one final newline ("" for none). */
export function joinParts(parts: readonly string[]): string {
  return parts.length ? parts.join(DOCUMENT_SEPARATOR) + "\n" : "";
}

/** The candidate nearest to `target`; ties go to the earlier candidate (candidates are ascending). */
function nearest(candidates: number[], target: number): number {
  let best = candidates[0];
  for (const c of candidates) if (Math.abs(c - target) < Math.abs(best - target)) best = c;
  return best;
}
