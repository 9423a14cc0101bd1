import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { bitsPerByte, ByteTokenizer, decodedBytes, type Tokenizer } from "../../lib/data/tokenizer.ts";
import { gpt2Tokenizer } from "../../lib/data/gpt2_tokenizer.ts";
import { getTokenizer } from "../../lib/data/tokenizers.ts";
import { FIXTURE_DIR } from "./_helpers.ts";
import { loadCorpus } from "../../lib/data/corpus.ts";

// GPT-2's vocabulary comes from npm:gpt-tokenizer through Deno's npm cache; without the cache and the registry,
// its tests are skipped with the reason printed rather than failing offline.
let gpt2: Tokenizer | null = null;
try {
  gpt2 = await gpt2Tokenizer();
} catch (err) {
  console.log(`Skipping GPT-2 tokenizer tests: ${(err as Error).message}`);
}

Deno.test("ByteTokenizer round-trips text through UTF-8 bytes", () => {
  const tok = new ByteTokenizer();
  const text = "Cæsar said “hi” — 🐻\n\ttab";
  const ids = tok.encode(text);
  assertEquals(ids, Uint16Array.from(new TextEncoder().encode(text)));
  assertEquals(tok.decode(ids), text);
  assertEquals(tok.vocabSize, 256);
});

Deno.test("ByteTokenizer round-trips the fixture", async () => {
  const corpus = await loadCorpus({ path: FIXTURE_DIR });
  const tok = new ByteTokenizer();
  for (const split of ["train", "valid", "test"] as const) {
    const ids = tok.encode(corpus.splits[split]);
    assertEquals(ids.length, corpus.info[split].bytes);
    assertEquals(tok.decode(ids), corpus.splits[split]);
  }
});

Deno.test("ByteTokenizer.decode names an id outside 0–255", () => {
  assertThrows(() => new ByteTokenizer().decode([65, 256]), /Cannot decode token id 256 with the byte tokenizer/);
});

Deno.test("bitsPerByte converts nats per token to bits per byte", () => {
  assertEquals(bitsPerByte(Math.LN2, 100, 100), 1);
  assert(Math.abs(bitsPerByte(2, 250, 1000) - 0.5 / Math.LN2) < 1e-12);
  assertThrows(() => bitsPerByte(1, 10, 0), /Byte count 0 is invalid: expected a positive number/);
  assertThrows(() => bitsPerByte(NaN, 10, 10), /Mean loss NaN is invalid/);
});

Deno.test("getTokenizer names an unknown tokenizer", async () => {
  assertEquals((await getTokenizer()).name, "byte");
  await assertRejects(
    () => getTokenizer("sentencepiece"),
    /Unknown tokenizer "sentencepiece": expected one of byte, gpt2/,
  );
});

Deno.test({
  name: "gpt2Tokenizer has GPT-2's 50257 ids and its known encodings",
  ignore: gpt2 === null,
  fn() {
    const tok = gpt2!;
    assertEquals([tok.name, tok.vocabSize], ["gpt2", 50257]);
    assertEquals(tok.encode("hello world"), Uint16Array.from([31373, 995]));
    // A special-token string inside text is ordinary text, not id 50256.
    const ids = tok.encode("<|endoftext|>");
    assert(ids.length > 1 && !ids.includes(50256));
    assertEquals(tok.decode(ids), "<|endoftext|>");
  },
});

Deno.test({
  name: "gpt2Tokenizer round-trips the fixture, with fewer tokens than bytes",
  ignore: gpt2 === null,
  async fn() {
    const tok = gpt2!;
    const corpus = await loadCorpus({ path: FIXTURE_DIR });
    for (const split of ["train", "valid", "test"] as const) {
      const ids = tok.encode(corpus.splits[split]);
      assertEquals(tok.decode(ids), corpus.splits[split]);
      assertEquals(decodedBytes(tok, ids), corpus.info[split].bytes);
      const ratio = corpus.info[split].bytes / ids.length;
      assert(ratio > 3 && ratio < 5, `${split}: ${ratio} bytes per token`);
    }
  },
});
