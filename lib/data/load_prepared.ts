/**
 * Load prepared split files, checking each against its committed size and SHA-256 first, so a stale or edited
 * file fails loudly instead of silently changing an experiment. {@linkcode loadGutenberg} is the default corpus.
 * @module
 */
import { join } from "node:path";
import { readFileOrExplain } from "./_fs.ts";
import { type Corpus, type SplitInfo, splitInfo } from "./corpus.ts";
import { defaultGutenbergDir, GUTENBERG_HASH_FILE, PREPARE_COMMAND } from "./gutenberg_source.ts";
import { type CorpusHashes, readCorpusHashes } from "./hash_file.ts";
import type { OnDataProgress } from "./progress.ts";
import { SPLIT_NAMES, type SplitName, type SplitTexts } from "./split.ts";

/** Options for {@linkcode loadPreparedCorpus}. */
export interface LoadPreparedOptions {
  /** Folder holding `{train,valid,test}.txt`. */
  dir: string;
  /** Corpus name (default: the folder). */
  name?: string;
  /** Expected sizes and hashes; when given, every split must match. */
  expected?: CorpusHashes;
  /** Where `expected` came from, for error messages. */
  expectedFrom?: string;
  /** What to run to (re)create the files, for error messages. */
  howToMake?: string;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/** Load `{train,valid,test}.txt` from a folder, verifying them against `expected` when given. */
export async function loadPreparedCorpus(options: LoadPreparedOptions): Promise<Corpus> {
  const how = options.howToMake ?? "prepare the corpus first";
  const splits = {} as SplitTexts;
  const info = {} as Record<SplitName, SplitInfo>;
  for (const [i, name] of SPLIT_NAMES.entries()) {
    const path = join(options.dir, `${name}.txt`);
    const bytes = await readFileOrExplain(path, how);
    info[name] = await splitInfo(bytes);
    const want = options.expected?.splits[name];
    if (want && (want.sha256 !== info[name].sha256 || want.bytes !== info[name].bytes)) {
      throw new Error(
        `Split file ${path} has SHA-256 ${info[name].sha256} (${info[name].bytes} bytes), expected ` +
          `${want.sha256} (${want.bytes} bytes) from ${options.expectedFrom ?? "the hash file"}: ` +
          `it is stale or was edited; regenerate it with \`${PREPARE_COMMAND}\``,
      );
    }
    try {
      splits[name] = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new Error(`Split file ${path} is not valid UTF-8: expected text written by the preparation step; ${how}`);
    }
    options.onProgress?.({ stage: "verify", message: `loaded ${path}`, done: i + 1, total: 3 });
  }
  return { name: options.name ?? options.dir, splits, info, dir: options.dir };
}

/** Options for {@linkcode loadGutenberg}. */
export interface LoadGutenbergOptions {
  /** Folder of the prepared splits (default {@linkcode defaultGutenbergDir}). */
  dir?: string;
  /** Committed hash file (default `data/gutenberg.sha256.json` beside the library). */
  hashFile?: string | URL;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/**
 * Load the prepared Gutenberg corpus, verifying each split against the committed hashes. Throws, naming the file
 * and how to regenerate it, when a split is missing or differs.
 * @example
 * ```ts ignore
 * import { loadGutenberg } from "./load_prepared.ts";
 * const corpus = await loadGutenberg(); // after `deno task data`
 * console.log(corpus.info.train.bytes);
 * ```
 */
export async function loadGutenberg(options: LoadGutenbergOptions = {}): Promise<Corpus> {
  const hashFile = options.hashFile ?? GUTENBERG_HASH_FILE;
  const from = hashFile instanceof URL ? hashFile.href : hashFile;
  const expected = await readCorpusHashes(hashFile);
  if (expected === null) {
    throw new Error(`Missing hash file ${from}: run \`${PREPARE_COMMAND}\` to create it, then commit it`);
  }
  return await loadPreparedCorpus({
    dir: options.dir ?? defaultGutenbergDir(),
    name: "gutenberg",
    expected,
    expectedFrom: from,
    howToMake: `prepare the corpus with \`${PREPARE_COMMAND}\``,
    onProgress: options.onProgress,
  });
}
