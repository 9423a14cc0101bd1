/**
 * `deno task import-fairseq --from FILE.safetensors --name NAME [--out runs] [--corpus C] [--python]`: a fairseq
 * 0.12 checkpoint (converted by `from_fairseq.py`, which `--python` prints) as a run folder of ours at step 0:
 * `runs/NAME/{config.json, metrics.jsonl, checkpoint/}` with fairseq's weights, zero Adam moments and the config
 * read from the checkpoint's `cfg` (model, optimizer, schedule, batch, seed). `eval`, `sample` and `grads` read
 * it, and `train --name NAME --resume` continues training from fairseq's weights.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { runMain, startBackend } from "./common.ts";
import { loadFairseqCheckpoint } from "../train/interop.ts";
import { trainConfigFromFairseq } from "../train/fairseq_train.ts";
import { FROM_FAIRSEQ_PY } from "../train/fairseq_export.ts";
import { resolveConfig } from "../train/config.ts";
import { saveCheckpoint } from "../train/checkpoint.ts";
import { NormFormerLM } from "../model/normformer.ts";
import { AdamW } from "../optim/adamw.ts";
import { Rng } from "../core/rng.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  from: {
    type: "string",
    description: "safetensors made by from_fairseq.py (or saveFairseqCheckpoint).",
    valueName: "file",
  },
  name: { type: "string", description: "Run name: the folder written under --out.", valueName: "name" },
  out: { type: "string", description: "Folder holding the runs (default runs).", valueName: "dir" },
  corpus: {
    type: "string",
    description: "Corpus the run trains and evaluates on (default gutenberg).",
    valueName: "c",
  },
  python: { type: "boolean", description: "Print from_fairseq.py (checkpoint.pt → safetensors) and exit." },
} as const;

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  const usage = "deno task import-fairseq --from FILE.safetensors --name NAME [--out runs] [--corpus C] [--python]";
  if (flags.help) return console.log(formatHelp(SPEC, { usage }));
  if (flags.python) return console.log(FROM_FAIRSEQ_PY);
  if (!flags.from) throw new UsageError("Missing --from FILE.safetensors (python3 from_fairseq.py checkpoint.pt FILE)");
  if (!flags.name) throw new UsageError("Missing --name NAME");
  const out = flags.out ?? "runs", runDir = `${out}/${flags.name}`;
  try {
    await Deno.stat(runDir);
    throw new UsageError(`Cannot import into "${runDir}": it exists (choose another --name)`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let ckpt;
  try {
    ckpt = await loadFairseqCheckpoint(flags.from);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const sections = JSON.parse(ckpt.metadata["fairseq.cfg"] ?? "{}") as Record<string, Record<string, unknown>>;
  const flat = Object.assign({}, ...Object.values(sections), sections.model ?? {});
  let layer: Record<string, unknown> = { ...ckpt.config };
  if ("optimizer" in flat) {
    try {
      layer = trainConfigFromFairseq(flat, ckpt.config.vocabSize);
    } catch (e) {
      throw new UsageError(`${(e as Error).message} (in ${flags.from})`);
    }
  }
  const { preset: _, ...rest } = layer;
  const config = resolveConfig([
    { preset: "tiny" },
    rest,
    { name: flags.name, out, ...(flags.corpus ? { corpus: flags.corpus } : {}) },
  ]);
  await startBackend({ backend: "cpu", provider: "deno" });
  const model = new NormFormerLM(config);
  model.loadStateDict(ckpt.stateDict);
  const optimizer = new AdamW(model.parameters(), { beta1: config.beta1, beta2: config.beta2, eps: config.eps });
  await Deno.mkdir(runDir, { recursive: true });
  await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  await Deno.writeTextFile(`${runDir}/metrics.jsonl`, "");
  await saveCheckpoint(`${runDir}/checkpoint`, {
    params: Object.fromEntries(model.namedParameters()),
    optimizer: optimizer.optimizerTensors(),
    config,
    state: {
      step: 0,
      tokens: 0,
      flops: 0,
      time: 0,
      rng: new Rng(config.seed).state(),
      sampler: null,
      metricsLines: 0,
      skippedSteps: 0,
    },
  });
  const updates = ckpt.metadata["fairseq.num_updates"];
  console.log(
    `wrote ${runDir}: ${config.arch}, ${config.layers} layers, C ${config.dModel}, V ${config.vocabSize}` +
      `${updates ? ` (fairseq trained it ${updates} updates)` : ""}; ` +
      `deno task train --name ${flags.name}${out === "runs" ? "" : ` --out ${out}`} --resume continues it ` +
      `(${config.steps} steps; --steps=N changes that)`,
  );
});
