/**
 * A corpus: the text of its train/valid/test splits with their sizes and hashes. {@linkcode loadCorpus} makes one
 * from any UTF-8 text file or folder, split the same way as the Gutenberg corpus but without hash verification.
 * @module
 */
import { readDocuments } from "./documents.ts";
import { sha256Hex } from "./hash.ts";
import type { OnDataProgress } from "./progress.ts";
import { checkFractions, DEFAULT_FRACTIONS, SPLIT_NAMES, splitDocuments } from "./split.ts";
import type { SplitFractions, SplitName, SplitTexts } from "./split.ts";

/** Size and hash of one split's UTF-8 bytes. */
export interface SplitInfo {
  /** Length of the split's UTF-8 encoding in bytes. */
  bytes: number;
  /** SHA-256 of those bytes, lowercase hex. */
  sha256: string;
}

/** A loaded corpus. */
export interface Corpus {
  /** A name for records and cache keys (`gutenberg`, or the path a corpus was loaded from). */
  name: string;
  /** Text of each split. */
  splits: SplitTexts;
  /** Size and hash of each split. */
  info: Record<SplitName, SplitInfo>;
  /** Folder holding the split files, where token caches go by default (absent for an in-memory corpus). */
  dir?: string;
}

/** Options for {@linkcode loadCorpus}. */
export interface LoadCorpusOptions {
  /** A UTF-8 text file, or a folder whose `.txt` files (recursively, sorted by path) are the documents. */
  path: string;
  /** Train/valid/test fractions of each document (default 0.9/0.05/0.05). */
  fractions?: SplitFractions;
  /** File name endings a folder corpus takes (default `[".txt"]`). */
  extensions?: readonly string[];
  /** Strip Project Gutenberg headers, footers and NLTK title lines (default false). */
  stripGutenberg?: boolean;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/**
 * Load any text file or folder as a corpus, each document split contiguously at paragraph boundaries.
 * @example
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * const corpus = await loadCorpus({ path: "data/fixture" });
 * console.log(corpus.info.train.bytes, corpus.info.valid.bytes, corpus.info.test.bytes);
 * ```
 */
export async function loadCorpus(options: LoadCorpusOptions): Promise<Corpus> {
  const fractions = checkFractions(options.fractions ?? DEFAULT_FRACTIONS);
  const docs = await readDocuments(options.path, options);
  const splits = splitDocuments(docs.map((d) => d.text), fractions);
  options.onProgress?.({ stage: "split", message: `split ${docs.length} documents ${fractions.join("/")}` });
  return await corpusFromSplits(options.path, splits);
}

/** Build a {@linkcode Corpus} from split texts, hashing each. */
export async function corpusFromSplits(name: string, splits: SplitTexts, dir?: string): Promise<Corpus> {
  const info = {} as Record<SplitName, SplitInfo>;
  for (const split of SPLIT_NAMES) info[split] = await splitInfo(new TextEncoder().encode(splits[split]));
  return dir === undefined ? { name, splits, info } : { name, splits, info, dir };
}

/** Size and SHA-256 of a split's bytes. */
export async function splitInfo(bytes: Uint8Array): Promise<SplitInfo> {
  return { bytes: bytes.length, sha256: await sha256Hex(bytes) };
}
