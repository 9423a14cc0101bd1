/**
 * "Did you mean …?" for unknown names: Levenshtein distance and the nearest candidate. Config keys
 * (`lib/train/config.ts`) and command-line flags (`lib/cli/args.ts`) both use it, so their hints agree.
 * @module
 */

/**
 * Levenshtein edit distance (insertions, deletions and substitutions each cost 1).
 * @example
 * ```ts
 * import { levenshtein } from "./nearest.ts";
 * console.log(levenshtein("kitten", "sitting")); // 3
 * ```
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name`, compared case-insensitively (so `dmodel` finds `dModel`), or undefined when
 * none is within `max(2, ⌊length/3⌋)` edits: a far-fetched hint is worse than none. Ties go to the earlier
 * candidate.
 * @example
 * ```ts
 * import { nearest } from "./nearest.ts";
 * console.log(nearest("dmodel", ["dModel", "dFF", "heads"])); // "dModel"
 * console.log(nearest("zzz", ["dModel", "dFF"])); // undefined
 * ```
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = levenshtein(lower, c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return bestDist <= limit ? best : undefined;
}
