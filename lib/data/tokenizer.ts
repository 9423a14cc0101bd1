/**
 * The tokenizer interface, and the default byte-level tokenizer (V = 256: a token is one UTF-8 byte), which needs
 * no vocabulary and makes losses directly comparable in bits per byte.
 * @module
 */

/** A text ↔ token-id mapping. Ids are below `vocabSize`, which is at most 65536 so tokens store as u16. */
export interface Tokenizer {
  /** Short name used in file names and records: `byte`, `gpt2`. */
  readonly name: string;
  /** Identity for cache keys: name plus anything that would change the ids (package version, encoding). */
  readonly id: string;
  /** Number of token ids. */
  readonly vocabSize: number;
  /** Text to token ids. */
  encode(text: string): Uint16Array;
  /** Token ids to text; ids that do not form valid UTF-8 decode to U+FFFD. */
  decode(ids: ArrayLike<number>): string;
}

/**
 * Byte-level tokenizer: the UTF-8 bytes of the text.
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * const tok = new ByteTokenizer();
 * tok.encode("hé"); // Uint16Array [104, 195, 169]
 * tok.decode([104, 195, 169]); // "hé"
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  /** Always `byte`. */
  readonly name = "byte";
  /** Cache identity. */
  readonly id = "byte:utf-8";
  /** 256. */
  readonly vocabSize = 256;
  #enc = new TextEncoder();
  #dec = new TextDecoder();

  /** The text's UTF-8 bytes as ids. */
  encode(text: string): Uint16Array {
    return Uint16Array.from(this.#enc.encode(text));
  }

  /** Ids as UTF-8 bytes; throws for an id outside 0–255. */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > 255) {
        throw new Error(`Cannot decode token id ${id} with the byte tokenizer: expected an integer in 0–255`);
      }
      bytes[i] = id;
    }
    return this.#dec.decode(bytes);
  }
}

/**
 * Bits per byte from a mean per-token cross-entropy in nats: total nats over the text's UTF-8 bytes, in bits.
 * Compares models across tokenizers (for the byte tokenizer, tokens = bytes and this is loss / ln 2).
 * @example
 * ```ts
 * import { bitsPerByte } from "./tokenizer.ts";
 * bitsPerByte(Math.LN2, 100, 100); // 1
 * bitsPerByte(3.0, 1000, 4200);    // ≈ 1.03 (a BPE model: ~4.2 bytes per token)
 * ```
 */
export function bitsPerByte(meanLossNats: number, tokens: number, bytes: number): number {
  if (!Number.isFinite(meanLossNats)) throw new Error(`Mean loss ${meanLossNats} is invalid: expected a finite number`);
  if (!(tokens >= 0)) throw new Error(`Token count ${tokens} is invalid: expected a non-negative number`);
  if (!(bytes > 0)) throw new Error(`Byte count ${bytes} is invalid: expected a positive number`);
  return (meanLossNats * tokens) / (bytes * Math.LN2);
}

/** UTF-8 byte length of the text some token ids decode to (the `bytes` of {@linkcode bitsPerByte}). */
export function decodedBytes(tokenizer: Tokenizer, ids: ArrayLike<number>): number {
  return new TextEncoder().encode(tokenizer.decode(ids)).length;
}
