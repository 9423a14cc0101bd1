/**
 * Tokenizers by name, for configs and the command line.
 * @module
 */
import { gpt2Tokenizer } from "./gpt2_tokenizer.ts";
import { ByteTokenizer, type Tokenizer } from "./tokenizer.ts";

/** Names {@linkcode getTokenizer} accepts. */
export const TOKENIZER_NAMES = ["byte", "gpt2"] as const;

/** A tokenizer name: `byte` (default) or `gpt2`. */
export type TokenizerName = typeof TOKENIZER_NAMES[number];

/**
 * The tokenizer with this name.
 * @example
 * ```ts
 * import { getTokenizer } from "./tokenizers.ts";
 * const tok = await getTokenizer("byte");
 * console.log(tok.vocabSize); // 256
 * ```
 */
export async function getTokenizer(name: TokenizerName | string = "byte"): Promise<Tokenizer> {
  if (name === "byte") return new ByteTokenizer();
  if (name === "gpt2") return await gpt2Tokenizer();
  throw new Error(`Unknown tokenizer "${name}": expected one of ${TOKENIZER_NAMES.join(", ")}`);
}
