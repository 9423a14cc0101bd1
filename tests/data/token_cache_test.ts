import { assert, assertEquals } from "../assert.ts";
import { corpusFromSplits, loadCorpus } from "../../lib/data/corpus.ts";
import { encodeCorpus, readTokenCache, tokenCacheKey, writeTokenCache } from "../../lib/data/token_cache.ts";
import { ByteTokenizer, type Tokenizer } from "../../lib/data/tokenizer.ts";
import { FIXTURE_DIR, withTempDir } from "./_helpers.ts";

/** A byte tokenizer that counts its encode calls. */
function countingTokenizer(): Tokenizer & { calls: number } {
  const inner = new ByteTokenizer();
  const tok = {
    name: "byte",
    id: inner.id,
    vocabSize: 256,
    calls: 0,
    encode(text: string) {
      tok.calls++;
      return inner.encode(text);
    },
    decode: (ids: ArrayLike<number>) => inner.decode(ids),
  };
  return tok;
}

Deno.test("encodeCorpus writes <split>.<tokenizer>.u16 caches and reads them back", async () => {
  await withTempDir(async (dir) => {
    const corpus = await loadCorpus({ path: FIXTURE_DIR });
    const tok = countingTokenizer();
    const first = await encodeCorpus(corpus, tok, { cacheDir: dir });
    assertEquals(tok.calls, 3);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), ["test.byte.u16", "train.byte.u16", "valid.byte.u16"]);
    assertEquals((await Deno.stat(`${dir}/train.byte.u16`)).size, 64 + 2 * corpus.info.train.bytes);
    const second = await encodeCorpus(corpus, tok, { cacheDir: dir });
    assertEquals(tok.calls, 3, "the second call should read the caches");
    assertEquals(second, first);
  });
});

Deno.test("encodeCorpus re-encodes when the text changes", async () => {
  await withTempDir(async (dir) => {
    const tok = countingTokenizer();
    const a = await corpusFromSplits("a", { train: "one", valid: "two", test: "three" });
    await encodeCorpus(a, tok, { cacheDir: dir });
    const b = await corpusFromSplits("b", { train: "one!", valid: "two", test: "three" });
    const tokens = await encodeCorpus(b, tok, { cacheDir: dir });
    assertEquals(tok.calls, 4, "only the changed split is encoded again");
    assertEquals(new ByteTokenizer().decode(tokens.train), "one!");
  });
});

Deno.test("readTokenCache rejects another key, a truncated file and garbage", async () => {
  await withTempDir(async (dir) => {
    const tok = new ByteTokenizer();
    const key = await tokenCacheKey(tok, "0".repeat(64));
    const tokens = Uint16Array.from([1, 2, 65535, 0]);
    await writeTokenCache(`${dir}/t.u16`, key, tokens);
    assertEquals(await readTokenCache(`${dir}/t.u16`, key), tokens);
    assertEquals(await readTokenCache(`${dir}/t.u16`, await tokenCacheKey(tok, "1".repeat(64))), null);
    const bytes = await Deno.readFile(`${dir}/t.u16`);
    await Deno.writeFile(`${dir}/t.u16`, bytes.subarray(0, bytes.length - 2));
    assertEquals(await readTokenCache(`${dir}/t.u16`, key), null);
    await Deno.writeTextFile(`${dir}/t.u16`, "not a cache");
    assertEquals(await readTokenCache(`${dir}/t.u16`, key), null);
    assertEquals(await readTokenCache(`${dir}/missing.u16`, key), null);
  });
});

Deno.test("tokenCacheKey depends on the tokenizer's identity", async () => {
  const sha = "a".repeat(64);
  const byte = await tokenCacheKey(new ByteTokenizer(), sha);
  const other = await tokenCacheKey({ ...new ByteTokenizer(), id: "byte:v2", name: "byte" } as Tokenizer, sha);
  assert(byte !== other);
});

Deno.test("encodeCorpus keeps an in-memory corpus in memory", async () => {
  const corpus = await corpusFromSplits("mem", { train: "abc", valid: "d", test: "e" });
  const tokens = await encodeCorpus(corpus, new ByteTokenizer());
  assertEquals(tokens.train, Uint16Array.from([97, 98, 99]));
});
