/**
 * Seeded training batches. Each epoch cuts the token array into non-overlapping blocks of T targets at a random
 * phase, shuffles the blocks, and hands them out B at a time: no token is a target twice within an epoch, and a
 * batch that runs past the end of an epoch continues into the next. Inputs are a block's tokens, targets the same
 * tokens shifted by one. The position and generator state serialize to a small JSON object, so a resumed run
 * draws exactly the batches the uninterrupted run would have.
 * @module
 */
import { Rng, type RngState } from "../core/rng.ts";
import { checkEnoughTokens, checkPositiveInt, type TokenArray } from "./_checks.ts";

export type { TokenArray } from "./_checks.ts";

/** A batch of B rows of T tokens, row-major. */
export interface Batch {
  /** Input ids, length B·T. */
  inputs: Int32Array;
  /** Next-token targets: `targets[b*T + t] === tokens[start_b + t + 1]` where `inputs[b*T + t] === tokens[start_b + t]`. */
  targets: Int32Array;
  /** Rows B. */
  batchSize: number;
  /** Columns T. */
  contextLength: number;
}

/** Options for {@linkcode BatchSampler}. */
export interface BatchSamplerOptions {
  /** Rows per batch, B. */
  batchSize: number;
  /** Tokens per row, T. */
  contextLength: number;
  /** Seed for the generator (default 0); ignored when `state` is given. */
  seed?: number;
  /** Resume from a saved {@linkcode BatchSamplerState}. */
  state?: BatchSamplerState;
  /** Draw a random block phase in [0, T) each epoch so block edges move between epochs (default true). */
  randomPhase?: boolean;
}

/** Everything needed to resume a sampler: plain JSON. */
export interface BatchSamplerState {
  /** Format version, 1. */
  version: 1;
  /** Token count the sampler ran over (checked on resume). */
  tokens: number;
  /** Context length T (checked on resume). */
  contextLength: number;
  /** Whether epochs draw a random phase (checked on resume). */
  randomPhase: boolean;
  /** Epoch number, from 0. */
  epoch: number;
  /** Blocks already handed out in this epoch. */
  index: number;
  /** Generator state at the start of this epoch, before its phase and shuffle were drawn. */
  epochRng: RngState;
}

/**
 * Random training batches over a token array.
 * @example
 * ```ts
 * import { BatchSampler } from "./sampler.ts";
 * const tokens = Uint16Array.from({ length: 1000 }, (_, i) => i % 256);
 * const sampler = new BatchSampler(tokens, { batchSize: 4, contextLength: 16, seed: 1 });
 * const { inputs, targets } = sampler.next(); // each Int32Array(64)
 * const saved = sampler.state();              // JSON; later: new BatchSampler(tokens, { ..., state: saved })
 * ```
 */
export class BatchSampler {
  /** Rows per batch, B. */
  readonly batchSize: number;
  /** Tokens per row, T. */
  readonly contextLength: number;
  readonly #tokens: TokenArray;
  readonly #randomPhase: boolean;
  #rng: Rng;
  #epoch = 0;
  #index = 0;
  #epochRng: RngState;
  #phase = 0;
  #order = new Uint32Array(0);

  /** Check arguments and start (or resume) the first epoch. */
  constructor(tokens: TokenArray, options: BatchSamplerOptions) {
    checkPositiveInt("Batch size", options.batchSize);
    checkPositiveInt("Context length", options.contextLength);
    checkEnoughTokens(tokens, options.contextLength);
    this.batchSize = options.batchSize;
    this.contextLength = options.contextLength;
    this.#tokens = tokens;
    const state = options.state;
    this.#randomPhase = state ? state.randomPhase : options.randomPhase ?? true;
    if (state) this.#checkState(state);
    this.#rng = state ? Rng.fromState(state.epochRng) : new Rng(options.seed ?? 0);
    this.#epochRng = this.#rng.state();
    this.#startEpoch(state ? state.epoch : 0);
    if (state) {
      if (state.index > this.#order.length) {
        throw new Error(`Sampler state index ${state.index} is past the epoch's ${this.#order.length} blocks`);
      }
      this.#index = state.index;
    }
  }

  /** The epoch the next row comes from, from 0. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Blocks (rows) in the current epoch; varies by at most one between epochs with a random phase. */
  get blocksPerEpoch(): number {
    return this.#order.length;
  }

  /** The next batch. */
  next(): Batch {
    const B = this.batchSize, T = this.contextLength;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.#index === this.#order.length) this.#startEpoch(this.#epoch + 1);
      const start = this.#phase + this.#order[this.#index++] * T;
      // Start the next epoch eagerly, so `epoch` and `blocksPerEpoch` describe where the next row comes from.
      if (this.#index === this.#order.length) this.#startEpoch(this.#epoch + 1);
      const row = b * T;
      for (let t = 0; t < T; t++) {
        inputs[row + t] = this.#tokens[start + t];
        targets[row + t] = this.#tokens[start + t + 1];
      }
    }
    return { inputs, targets, batchSize: B, contextLength: T };
  }

  /** The resumable state (plain JSON). */
  state(): BatchSamplerState {
    return {
      version: 1,
      tokens: this.#tokens.length,
      contextLength: this.contextLength,
      randomPhase: this.#randomPhase,
      epoch: this.#epoch,
      index: this.#index,
      epochRng: [...this.#epochRng],
    };
  }

  /** Draw this epoch's phase and block order; the generator then stands where the next epoch starts. */
  #startEpoch(epoch: number): void {
    const N = this.#tokens.length, T = this.contextLength;
    this.#epoch = epoch;
    this.#index = 0;
    this.#epochRng = this.#rng.state();
    // A phase p leaves floor((N - 1 - p) / T) ≥ 1 whole blocks as long as p ≤ N - 1 - T.
    this.#phase = this.#randomPhase ? this.#rng.int(Math.min(T, N - T)) : 0;
    const n = Math.floor((N - 1 - this.#phase) / T);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.#rng.int(i + 1);
      const tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    this.#order = order;
  }

  #checkState(s: BatchSamplerState): void {
    if (s?.version !== 1) throw new Error(`Sampler state version ${s?.version} is unsupported: expected 1`);
    if (s.tokens !== this.#tokens.length || s.contextLength !== this.contextLength) {
      throw new Error(
        `Sampler state was saved for ${s.tokens} tokens and context length ${s.contextLength}, ` +
          `got ${this.#tokens.length} tokens and context length ${this.contextLength}: expected the same data`,
      );
    }
    if (!Number.isInteger(s.epoch) || s.epoch < 0 || !Number.isInteger(s.index) || s.index < 0) {
      throw new Error(`Sampler state epoch ${s.epoch}, index ${s.index} is invalid: expected non-negative integers`);
    }
  }
}
