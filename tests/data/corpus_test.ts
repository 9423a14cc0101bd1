import { assert, assertEquals, assertRejects } from "../assert.ts";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { sha256Hex } from "../../lib/data/hash.ts";
import { FIXTURE_DIR, withTempDir } from "./_helpers.ts";

Deno.test("loadCorpus splits a folder of text files and records sizes and hashes", async () => {
  const corpus = await loadCorpus({ path: FIXTURE_DIR });
  assertEquals(corpus.name, FIXTURE_DIR);
  assertEquals(corpus.dir, undefined);
  let total = 0;
  for (const name of ["train", "valid", "test"] as const) {
    const bytes = new TextEncoder().encode(corpus.splits[name]);
    assertEquals(corpus.info[name], { bytes: bytes.length, sha256: await sha256Hex(bytes) });
    total += bytes.length;
  }
  const share = corpus.info.train.bytes / total;
  assert(share > 0.85 && share < 0.95, `train share ${share}`);
  // A plain corpus keeps NLTK's title lines unless asked to strip them.
  assert(corpus.splits.train.includes("[The Adventures of Buster Bear"));
  const stripped = await loadCorpus({ path: FIXTURE_DIR, stripGutenberg: true });
  assert(!stripped.splits.train.includes("[The Adventures of Buster Bear"));
});

Deno.test("loadCorpus takes a single file", async () => {
  const corpus = await loadCorpus({ path: `${FIXTURE_DIR}/carroll-alice.txt` });
  assertEquals(corpus.name, `${FIXTURE_DIR}/carroll-alice.txt`);
  assert(corpus.splits.train.startsWith("[Alice's Adventures in Wonderland"));
  assert(corpus.info.valid.bytes > 0 && corpus.info.test.bytes > 0);
});

Deno.test("loadCorpus is deterministic", async () => {
  const a = await loadCorpus({ path: FIXTURE_DIR });
  const b = await loadCorpus({ path: FIXTURE_DIR });
  assertEquals(a.info, b.info);
});

Deno.test("loadCorpus reports each file read through onProgress", async () => {
  const seen: string[] = [];
  await loadCorpus({ path: FIXTURE_DIR, onProgress: (e) => seen.push(e.stage) });
  assertEquals(seen, ["read", "read", "read", "split"]);
});

Deno.test("loadCorpus names a missing path", async () => {
  await assertRejects(() => loadCorpus({ path: "/no/such/corpus" }), /Corpus path \/no\/such\/corpus does not exist/);
});

Deno.test("loadCorpus rejects a folder with no text files", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.md`, "# not a .txt");
    await assertRejects(() => loadCorpus({ path: dir }), /has no files ending in \.txt/);
  });
});
