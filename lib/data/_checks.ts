/**
 * Argument checks shared by the batch iterators. Private to `lib/data/`.
 * @module
 */

/** Token ids as any integer typed array (u16 from the cache, i32 from elsewhere). */
export type TokenArray = Uint8Array | Uint16Array | Int32Array | Uint32Array;

/** Throw unless `value` is a positive safe integer, naming it. */
export function checkPositiveInt(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${what} must be a positive integer, got ${value}`);
  }
}

/** Throw unless the token array holds at least one window of `contextLength + 1` tokens, naming both numbers. */
export function checkEnoughTokens(tokens: TokenArray, contextLength: number, what = "Corpus"): void {
  if (tokens.length < contextLength + 1) {
    throw new Error(
      `${what} has ${tokens.length} tokens, too few for context length ${contextLength}: ` +
        `expected at least ${contextLength + 1} (context length + 1)`,
    );
  }
}
