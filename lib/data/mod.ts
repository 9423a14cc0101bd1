/**
 * The data layer: corpus preparation and loading, tokenizers, and seeded batches of token ids (no tensors).
 *
 * @example
 * ```ts
 * import { BatchSampler, ByteTokenizer, encodeCorpus, loadCorpus, ValidationSet } from "./mod.ts";
 * const corpus = await loadCorpus({ path: "data/fixture" }); // or await loadGutenberg() after `deno task data`
 * const tokens = await encodeCorpus(corpus, new ByteTokenizer());
 * const train = new BatchSampler(tokens.train, { batchSize: 8, contextLength: 64, seed: 1 });
 * const { inputs, targets } = train.next();
 * const valid = new ValidationSet(tokens.valid, { batchSize: 8, contextLength: 64 });
 * ```
 * @module
 */
export { type Corpus, corpusFromSplits, loadCorpus, type LoadCorpusOptions, type SplitInfo } from "./corpus.ts";
export { type DecodedText, decodeText, normalizeNewlines, type TextEncodingName } from "./decode.ts";
export { stripGutenbergBoilerplate, type StripOptions } from "./clean.ts";
export { readDocuments, type ReadDocumentsOptions, type SourceDocument } from "./documents.ts";
export {
  defaultGutenbergDir,
  GUTENBERG_HASH_FILE,
  GUTENBERG_PACKAGE,
  resolveGutenbergSource,
} from "./gutenberg_source.ts";
export { type CorpusHashes, diffHashes, readCorpusHashes, writeCorpusHashes } from "./hash_file.ts";
export { sha256Hex } from "./hash.ts";
export {
  loadGutenberg,
  type LoadGutenbergOptions,
  loadPreparedCorpus,
  type LoadPreparedOptions,
} from "./load_prepared.ts";
export {
  type DocumentStats,
  prepareCorpusFiles,
  type PrepareCorpusOptions,
  type PreparedCorpus,
  type PreparedGutenberg,
  prepareGutenberg,
  type PrepareGutenbergOptions,
} from "./prepare.ts";
export type { DataProgress, DataStage, OnDataProgress } from "./progress.ts";
export {
  type Batch,
  BatchSampler,
  type BatchSamplerOptions,
  type BatchSamplerState,
  type TokenArray,
} from "./sampler.ts";
export {
  checkFractions,
  DEFAULT_FRACTIONS,
  DOCUMENT_SEPARATOR,
  lineStarts,
  paragraphStarts,
  SPLIT_NAMES,
  splitDocument,
  splitDocuments,
  type SplitFractions,
  type SplitName,
  type SplitTexts,
} from "./split.ts";
export {
  type CorpusTokens,
  encodeCorpus,
  type EncodeCorpusOptions,
  readTokenCache,
  tokenCacheKey,
} from "./token_cache.ts";
export { bitsPerByte, ByteTokenizer, decodedBytes, type Tokenizer } from "./tokenizer.ts";
export { gpt2Tokenizer, GPT_TOKENIZER_PACKAGE } from "./gpt2_tokenizer.ts";
export { getTokenizer, TOKENIZER_NAMES, type TokenizerName } from "./tokenizers.ts";
export { ValidationSet, type ValidationSetOptions } from "./validation.ts";
// The sampler's state embeds the generator's; re-exported so this module's API is self-contained.
export type { RngState } from "../core/rng.ts";
