/**
 * Opens the training data a config names: the corpus (the prepared Gutenberg books, the committed fixture, or any
 * text file or folder), its tokens, the seeded batch sampler and the fixed validation set.
 * @module
 */
import { loadCorpus } from "../data/corpus.ts";
import { loadGutenberg } from "../data/load_prepared.ts";
import { prepareGutenberg } from "../data/prepare.ts";
import type { OnDataProgress } from "../data/progress.ts";
import { BatchSampler, type BatchSamplerState } from "../data/sampler.ts";
import { encodeCorpus } from "../data/token_cache.ts";
import type { Tokenizer } from "../data/tokenizer.ts";
import { getTokenizer } from "../data/tokenizers.ts";
import { ValidationSet } from "../data/validation.ts";
import { defaultGutenbergDir } from "../data/gutenberg_source.ts";

/** The committed public-domain excerpt that tests and quick runs use (`corpus: "fixture"`). */
export const FIXTURE_CORPUS: string = new URL("../../data/fixture", import.meta.url).pathname;

/** What a training run reads. */
export interface TrainingData {
  /** The tokenizer the config names (byte or GPT-2 BPE). */
  tokenizer: Tokenizer;
  /** Seeded training batches (replaced when a checkpoint's sampler state is restored). */
  sampler: BatchSampler;
  /** The training split's tokens (to rebuild the sampler from a checkpoint's state). */
  trainTokens: Uint16Array;
  /** Fixed validation batches. */
  valid: ValidationSet;
  /** Fixed test batches. */
  test: ValidationSet;
  /** UTF-8 bytes per token of the validation split, for bits per byte. */
  validBytesPerToken: number;
  /** Corpus name for records. */
  corpus: string;
}

/** The config fields the data depends on. */
export interface DataConfig {
  /** "gutenberg", "fixture", or a path to a text file or prepared corpus. */
  corpus: string;
  /** "byte" or "gpt2". */
  tokenizer: string;
  /** V; must match the tokenizer's vocabulary. */
  vocabSize: number;
  /** Sequences per batch. */
  batchSize: number;
  /** Tokens per sequence. */
  contextLength: number;
  /** Seed of the batch order. */
  seed: number;
  /** Held-out tokens per evaluation. */
  evalTokens: number;
}

/**
 * Load (preparing the Gutenberg corpus on first use), encode with the configured tokenizer, and build the
 * sampler (resumed from `samplerState` when given) and the validation and test sets.
 */
export async function openTrainingData(
  cfg: DataConfig,
  opts: { samplerState?: BatchSamplerState; onProgress?: OnDataProgress } = {},
): Promise<TrainingData> {
  const { onProgress } = opts;
  let corpus;
  if (cfg.corpus === "gutenberg") {
    try {
      await Deno.stat(`${defaultGutenbergDir()}/train.txt`);
    } catch {
      onProgress?.({ stage: "resolve", message: "preparing the Gutenberg corpus (first use)" });
      const prepared = await prepareGutenberg({ onProgress });
      if (prepared.mismatches.length) {
        throw new Error(`Prepared corpus differs from the committed hashes: ${prepared.mismatches.join("; ")}`);
      }
    }
    corpus = await loadGutenberg({ onProgress });
  } else {
    corpus = await loadCorpus({ path: cfg.corpus === "fixture" ? FIXTURE_CORPUS : cfg.corpus, onProgress });
  }
  const tokenizer = await getTokenizer(cfg.tokenizer);
  if (tokenizer.vocabSize !== cfg.vocabSize) {
    throw new Error(
      `Invalid vocabSize ${cfg.vocabSize}: tokenizer "${tokenizer.name}" has ${tokenizer.vocabSize} ids; set vocabSize=${tokenizer.vocabSize}`,
    );
  }
  const tokens = await encodeCorpus(corpus, tokenizer, { onProgress });
  const sampler = new BatchSampler(tokens.train, {
    batchSize: cfg.batchSize,
    contextLength: cfg.contextLength,
    seed: cfg.seed,
    state: opts.samplerState,
  });
  const evalOpts = {
    batchSize: cfg.batchSize,
    contextLength: cfg.contextLength,
    maxTokens: cfg.evalTokens || undefined,
  };
  return {
    tokenizer,
    sampler,
    trainTokens: tokens.train,
    valid: new ValidationSet(tokens.valid, evalOpts),
    test: new ValidationSet(tokens.test, evalOpts),
    validBytesPerToken: corpus.info.valid.bytes / Math.max(tokens.valid.length, 1),
    corpus: corpus.name,
  };
}
