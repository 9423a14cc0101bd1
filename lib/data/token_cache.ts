/**
 * Encoded splits cached on disk as `<split>.<tokenizer>.u16` next to the split files. A 64-byte header holds a
 * magic string, a key (SHA-256 of the tokenizer id and the text's SHA-256) and the token count; then the ids as
 * little-endian u16. A change of text or tokenizer changes the key, so a stale cache is re-encoded, never used.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "./_fs.ts";
import type { Corpus } from "./corpus.ts";
import { sha256Hex } from "./hash.ts";
import type { OnDataProgress } from "./progress.ts";
import { SPLIT_NAMES, type SplitName } from "./split.ts";
import type { Tokenizer } from "./tokenizer.ts";

const MAGIC = "NKU16v1\n";
const HEADER_BYTES = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The cache key of a text under a tokenizer: 64 hex digits. */
export async function tokenCacheKey(tokenizer: Tokenizer, textSha256: string): Promise<string> {
  return await sha256Hex(`${tokenizer.id}\n${textSha256}`);
}

/** Read a token cache file; null when it is missing, malformed, or was made for another key. */
export async function readTokenCache(path: string, key: string): Promise<Uint16Array | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  if (bytes.length < HEADER_BYTES || (bytes.length - HEADER_BYTES) % 2 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return null;
  if (hex(bytes.subarray(8, 40)) !== key) return null;
  const count = view.getFloat64(40, true);
  if (count !== (bytes.length - HEADER_BYTES) / 2) return null;
  const at = bytes.byteOffset + HEADER_BYTES;
  if (LITTLE_ENDIAN && at % 2 === 0) return new Uint16Array(bytes.buffer, at, count);
  const tokens = new Uint16Array(count);
  for (let i = 0; i < count; i++) tokens[i] = view.getUint16(HEADER_BYTES + 2 * i, true);
  return tokens;
}

/** Write a token cache file atomically. */
export async function writeTokenCache(path: string, key: string, tokens: Uint16Array): Promise<void> {
  const bytes = new Uint8Array(HEADER_BYTES + 2 * tokens.length);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  for (let i = 0; i < 32; i++) bytes[8 + i] = parseInt(key.slice(2 * i, 2 * i + 2), 16);
  view.setFloat64(40, tokens.length, true);
  if (LITTLE_ENDIAN) bytes.set(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), HEADER_BYTES);
  else for (let i = 0; i < tokens.length; i++) view.setUint16(HEADER_BYTES + 2 * i, tokens[i], true);
  await writeFileAtomic(path, bytes);
}

/** Token ids of each split. */
export type CorpusTokens = Record<SplitName, Uint16Array>;

/** Options for {@linkcode encodeCorpus}. */
export interface EncodeCorpusOptions {
  /** Folder for cache files (default: the corpus's `dir`; no caching when neither is set). */
  cacheDir?: string;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/**
 * Encode every split of a corpus, reading `<split>.<tokenizer>.u16` caches when their key matches and writing them
 * when not.
 * @example
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * import { encodeCorpus } from "./token_cache.ts";
 * import { ByteTokenizer } from "./tokenizer.ts";
 * const corpus = await loadCorpus({ path: "data/fixture" });
 * const tokens = await encodeCorpus(corpus, new ByteTokenizer()); // no cache: an in-memory corpus has no dir
 * console.log(tokens.train.length === corpus.info.train.bytes); // true
 * ```
 */
export async function encodeCorpus(
  corpus: Corpus,
  tokenizer: Tokenizer,
  options: EncodeCorpusOptions = {},
): Promise<CorpusTokens> {
  if (tokenizer.vocabSize > 65536) {
    throw new Error(
      `Tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids: expected at most 65536 to store as u16`,
    );
  }
  const dir = options.cacheDir ?? corpus.dir;
  const out = {} as CorpusTokens;
  for (const [i, split] of SPLIT_NAMES.entries()) {
    const path = dir === undefined ? undefined : join(dir, `${split}.${tokenizer.name}.u16`);
    const key = await tokenCacheKey(tokenizer, corpus.info[split].sha256);
    const cached = path === undefined ? null : await readTokenCache(path, key);
    if (cached) {
      out[split] = cached;
      options.onProgress?.({ stage: "encode", message: `read ${path}`, done: i + 1, total: 3 });
      continue;
    }
    out[split] = tokenizer.encode(corpus.splits[split]);
    if (path !== undefined) await writeTokenCache(path, key, out[split]);
    options.onProgress?.({
      stage: "encode",
      message: `encoded ${split} with ${tokenizer.name}: ${out[split].length} tokens${
        path ? `, cached in ${path}` : ""
      }`,
      done: i + 1,
      total: 3,
    });
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
