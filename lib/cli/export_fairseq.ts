/**
 * `deno task export-fairseq --checkpoint RUN --out DIR [--no-data]`: a run (its folder or its `checkpoint/`) as a
 * fairseq 0.12 project: `model.safetensors`, `dict.txt`, `data/*.txt` for `fairseq-preprocess`, `to_fairseq.py`
 * (→ `checkpoint.pt`), `from_fairseq.py` and `train.sh` with the complete `fairseq-train` command. See README,
 * "Taking weights to fairseq".
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { modelFromCheckpoint, runMain, startBackend } from "./common.ts";
import { exportFairseqRun } from "../train/fairseq_export.ts";
import { FIXTURE_CORPUS } from "../train/data.ts";
import { loadCorpus } from "../data/corpus.ts";
import { loadGutenberg } from "../data/load_prepared.ts";
import { encodeCorpus } from "../data/token_cache.ts";
import { getTokenizer } from "../data/tokenizers.ts";
import type { TrainConfig } from "../train/config.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  checkpoint: { type: "string", description: "Run folder (runs/<name>) or its checkpoint folder.", valueName: "dir" },
  out: { type: "string", description: "Folder to write (created; must be empty or absent).", valueName: "dir" },
  "no-data": { type: "boolean", description: "Write the model and scripts only, not the token splits." },
} as const;

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** The token splits of the run's corpus, as training read them. */
async function corpusTokens(cfg: TrainConfig) {
  let corpus;
  if (cfg.corpus === "gutenberg") {
    try {
      corpus = await loadGutenberg();
    } catch (e) {
      throw new UsageError(
        `Cannot read the Gutenberg corpus (run \`deno task data\` first, or pass --no-data): ${(e as Error).message}`,
      );
    }
  } else corpus = await loadCorpus({ path: cfg.corpus === "fixture" ? FIXTURE_CORPUS : cfg.corpus });
  return await encodeCorpus(corpus, await getTokenizer(cfg.tokenizer));
}

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) {
    return console.log(formatHelp(SPEC, { usage: "deno task export-fairseq --checkpoint RUN --out DIR [--no-data]" }));
  }
  if (!flags.checkpoint) throw new UsageError("Missing --checkpoint RUN");
  if (!flags.out) throw new UsageError("Missing --out DIR");
  if (await isDir(flags.out)) {
    for await (const _ of Deno.readDir(flags.out)) {
      throw new UsageError(`Cannot export into "${flags.out}": the folder is not empty`);
    }
  }
  const dir = await isDir(`${flags.checkpoint}/checkpoint`) ? `${flags.checkpoint}/checkpoint` : flags.checkpoint;
  await startBackend({ backend: "cpu", provider: "deno" });
  const { model, config, step } = await modelFromCheckpoint(dir);
  const name = config.name || dir.replace(/\/checkpoint\/?$/, "").split("/").filter(Boolean).at(-1) || "run";
  const splits = flags["no-data"] ? undefined : await corpusTokens(config);
  try {
    const { files } = await exportFairseqRun(flags.out, { model, config, name, step, splits });
    console.log(`wrote ${flags.out}: ${files.join(", ")}`);
    console.log(`next: cd ${flags.out} && python3 to_fairseq.py && ./train.sh   (GPUS=N, FINETUNE=1: see train.sh)`);
  } catch (e) {
    if ((e as Error).message.startsWith("Cannot ")) throw new UsageError((e as Error).message);
    throw e;
  }
});
