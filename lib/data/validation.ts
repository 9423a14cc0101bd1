/**
 * A fixed, deterministic evaluation set: the token array cut into non-overlapping blocks of T targets, in order,
 * B per batch (the last batch may have fewer rows). Same tokens every time, so validation losses compare across
 * runs and steps.
 * @module
 */
import { checkEnoughTokens, checkPositiveInt, type TokenArray } from "./_checks.ts";
import type { Batch } from "./sampler.ts";

/** Options for {@linkcode ValidationSet}. */
export interface ValidationSetOptions {
  /** Rows per batch, B (the last batch may have fewer). */
  batchSize: number;
  /** Tokens per row, T. */
  contextLength: number;
  /** Evaluate at most this many target tokens (rounded down to whole blocks); default: every whole block. */
  maxTokens?: number;
}

/**
 * Non-overlapping blocks in order. Targets covered are `tokens[1, 1 + targetTokens)`; a tail shorter than a block
 * is left out.
 * @example
 * ```ts
 * import { ValidationSet } from "./validation.ts";
 * const tokens = Uint16Array.from({ length: 1000 }, (_, i) => i % 256);
 * const valid = new ValidationSet(tokens, { batchSize: 4, contextLength: 16, maxTokens: 512 });
 * for (const { inputs, targets, batchSize } of valid) {
 *   // batchSize rows of 16; 32 blocks in 8 batches
 * }
 * ```
 */
export class ValidationSet implements Iterable<Batch> {
  /** Rows per full batch, B. */
  readonly batchSize: number;
  /** Tokens per row, T. */
  readonly contextLength: number;
  /** Blocks (rows) in the set. */
  readonly blocks: number;
  readonly #tokens: TokenArray;

  /** Check arguments and count the blocks. */
  constructor(tokens: TokenArray, options: ValidationSetOptions) {
    checkPositiveInt("Batch size", options.batchSize);
    checkPositiveInt("Context length", options.contextLength);
    checkEnoughTokens(tokens, options.contextLength, "Validation data");
    const T = options.contextLength;
    let blocks = Math.floor((tokens.length - 1) / T);
    if (options.maxTokens !== undefined) {
      checkPositiveInt("Max tokens", options.maxTokens);
      if (options.maxTokens < T) {
        throw new Error(`Max tokens ${options.maxTokens} is below context length ${T}: expected at least one block`);
      }
      blocks = Math.min(blocks, Math.floor(options.maxTokens / T));
    }
    this.batchSize = options.batchSize;
    this.contextLength = T;
    this.blocks = blocks;
    this.#tokens = tokens;
  }

  /** Target tokens evaluated: blocks × T. */
  get targetTokens(): number {
    return this.blocks * this.contextLength;
  }

  /** Number of batches, the last possibly partial. */
  get batches(): number {
    return Math.ceil(this.blocks / this.batchSize);
  }

  /** The batches, in order; iterating again yields the same batches. */
  *[Symbol.iterator](): Iterator<Batch> {
    const T = this.contextLength;
    for (let first = 0; first < this.blocks; first += this.batchSize) {
      const rows = Math.min(this.batchSize, this.blocks - first);
      const inputs = new Int32Array(rows * T);
      const targets = new Int32Array(rows * T);
      for (let b = 0; b < rows; b++) {
        const start = (first + b) * T;
        for (let t = 0; t < T; t++) {
          inputs[b * T + t] = this.#tokens[start + t];
          targets[b * T + t] = this.#tokens[start + t + 1];
        }
      }
      yield { inputs, targets, batchSize: rows, contextLength: T };
    }
  }
}
