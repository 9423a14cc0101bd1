/**
 * Bytes to clean text: UTF-8 when the bytes are valid UTF-8, else windows-1252 (the code page of older Project
 * Gutenberg files, e.g. NLTK's `shakespeare-caesar.txt` spells "Cæsar" with byte 0xE6), then one line-ending style.
 * @module
 */

/** The text encodings {@linkcode decodeText} can report. */
export type TextEncodingName = "utf-8" | "windows-1252";

/** A decoded file: its text and the encoding that decoded it. */
export interface DecodedText {
  /** The text, with line endings as they were in the bytes. */
  text: string;
  /** `utf-8` when the bytes were valid UTF-8, else `windows-1252`. */
  encoding: TextEncodingName;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const cp1252 = new TextDecoder("windows-1252");

/**
 * Decode bytes as UTF-8, falling back to windows-1252 when they are not valid UTF-8. A leading byte-order mark is
 * dropped. Every byte sequence decodes, so this never throws.
 * @example
 * ```ts
 * import { decodeText } from "./decode.ts";
 * decodeText(new Uint8Array([0x43, 0xc3, 0xa6])); // { text: "Cæ", encoding: "utf-8" }
 * decodeText(new Uint8Array([0x43, 0xe6]));       // { text: "Cæ", encoding: "windows-1252" }
 * ```
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  try {
    return { text: utf8Fatal.decode(bytes), encoding: "utf-8" };
  } catch {
    return { text: cp1252.decode(bytes), encoding: "windows-1252" };
  }
}

/**
 * Turn CRLF and lone CR line endings into LF.
 * @example
 * ```ts
 * import { normalizeNewlines } from "./decode.ts";
 * normalizeNewlines("a\r\nb\rc\n"); // "a\nb\nc\n"
 * ```
 */
export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}
