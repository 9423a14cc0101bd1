/**
 * `deno task eval --checkpoint DIR [--split valid|test | --text FILE] [--json]`: loss, perplexity and bits per
 * byte of a checkpoint on a split of its corpus or on any UTF-8 text file.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { modelFromCheckpoint, runMain, startBackend } from "./common.ts";
import { ProgressLine } from "./progress.ts";
import { evaluate } from "../train/evaluate.ts";
import { openTrainingData } from "../train/data.ts";
import { getTokenizer } from "../data/tokenizers.ts";
import { ValidationSet } from "../data/validation.ts";
import type { BackendName, Provider } from "../backend/select.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  checkpoint: { type: "string", description: "Run folder (runs/<name>) or its checkpoint/.", valueName: "dir" },
  split: { type: "string", description: "valid (default) or test split of the run's corpus.", valueName: "name" },
  text: { type: "string", description: "Evaluate on this UTF-8 text file instead.", valueName: "file" },
  backend: { type: "string", description: "cpu | webgpu | auto.", valueName: "name" },
  json: { type: "boolean", description: "Print one JSON object on stdout." },
} as const;

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) {
    return console.log(
      formatHelp(SPEC, { usage: "deno task eval --checkpoint DIR [--split valid|test | --text FILE] [--json]" }),
    );
  }
  if (!flags.checkpoint) throw new UsageError("Missing --checkpoint DIR");
  if (flags.split && flags.text) throw new UsageError("Give either --split or --text, not both");
  const split = flags.split ?? "valid";
  if (split !== "valid" && split !== "test") throw new UsageError(`Invalid --split "${split}": expected valid or test`);
  await startBackend({ backend: (flags.backend ?? "auto") as BackendName, provider: "deno" as Provider });
  const { model, config, step, dir } = await modelFromCheckpoint(flags.checkpoint);
  let set: ValidationSet, bytesPerToken: number, source: string, leftOut = 0;
  if (flags.text) {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(flags.text));
    } catch (e) {
      throw new UsageError(`Cannot read "${flags.text}" as UTF-8 text: ${(e as Error).message}`);
    }
    const tokens = (await getTokenizer(config.tokenizer)).encode(text);
    const T = config.contextLength;
    if (tokens.length < T + 1) {
      throw new UsageError(
        `Text "${flags.text}" has ${tokens.length} tokens: expected at least ${T + 1} (one block of the model's ` +
          `context length ${T}, plus the first token, which is not scored)`,
      );
    }
    set = new ValidationSet(tokens, { batchSize: config.batchSize, contextLength: T });
    bytesPerToken = new TextEncoder().encode(text).length / tokens.length;
    source = flags.text;
    leftOut = tokens.length - 1 - set.targetTokens;
  } else {
    const data = await openTrainingData({ ...config, evalTokens: 0 });
    set = split === "valid" ? data.valid : data.test;
    bytesPerToken = data.validBytesPerToken;
    source = `${data.corpus}/${split}`;
  }
  const bar = new ProgressLine(`eval ${source}:`, set.batches);
  const { loss, tokens } = await evaluate(model, set, { onBatch: (d) => bar.update(d.batches, " batches") });
  bar.done();
  const out = {
    checkpoint: dir,
    step,
    source,
    tokens,
    leftOut,
    loss,
    ppl: Math.exp(loss),
    bpb: loss / Math.LN2 / bytesPerToken,
  };
  if (flags.json) console.log(JSON.stringify(out));
  else {
    const tail = leftOut
      ? ` (the last ${leftOut}, less than one block of ${config.contextLength}, are not scored)`
      : "";
    console.log(
      `${source} at step ${step}: loss ${loss.toFixed(4)} nats/token, ppl ${out.ppl.toFixed(2)}, ${
        out.bpb.toFixed(3)
      } bits/byte over ${tokens} tokens${tail}`,
    );
  }
});
