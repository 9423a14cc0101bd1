/**
 * GPT-2's byte-level BPE (the r50k_base encoding, V = 50257) from `npm:gpt-tokenizer`, whose vocabulary ships in
 * the package. Loaded lazily, so code that never asks for it never downloads it.
 * @module
 */
import type { Tokenizer } from "./tokenizer.ts";

/** The pinned package and the module that holds GPT-2's encoding. */
export const GPT_TOKENIZER_PACKAGE = "npm:gpt-tokenizer@4.0.0/encoding/r50k_base";

/** What this module uses of gpt-tokenizer's encoding module (typed here: a type import would fetch it too). */
interface Bpe {
  vocabularySize: number;
  encode(text: string, opts: { disallowedSpecial: Set<string> }): number[];
  decode(ids: number[]): string;
}

// Text is data: "<|endoftext|>" inside a book is seven ordinary tokens, not the special id 50256.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Load the GPT-2 tokenizer.
 * @example
 * ```ts ignore
 * import { gpt2Tokenizer } from "./gpt2_tokenizer.ts";
 * const tok = await gpt2Tokenizer();
 * tok.encode("hello world"); // Uint16Array [31373, 995]
 * ```
 */
export async function gpt2Tokenizer(): Promise<Tokenizer> {
  let bpe: Bpe;
  try {
    // Full specifier on purpose: the library must work when imported by URL, with no import map (DESIGN.md).
    // Computed, so that Deno does not fetch the package (30 MB) for every run that imports the data layer: a
    // literal dynamic import is downloaded ahead, even by byte-level runs that never call this.
    const spec: string = GPT_TOKENIZER_PACKAGE;
    bpe = await import(spec);
  } catch (err) {
    throw new Error(
      `Cannot load ${GPT_TOKENIZER_PACKAGE}: ${(err as Error).message.split("\n")[0]}. ` +
        "Expected the npm registry to be reachable once, or the package in Deno's npm cache",
    );
  }
  const vocabSize = bpe.vocabularySize;
  if (vocabSize !== 50257) throw new Error(`GPT-2 vocabulary has ${vocabSize} tokens, expected 50257`);
  return {
    name: "gpt2",
    id: "gpt2:gpt-tokenizer@4.0.0:r50k_base",
    vocabSize,
    encode: (text: string) => Uint16Array.from(bpe.encode(text, AS_TEXT)),
    decode: (ids: ArrayLike<number>) => bpe.decode(Array.from(ids)),
  };
}
