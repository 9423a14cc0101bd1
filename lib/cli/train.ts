/**
 * `deno task train`: train a NormFormer-family LM from a preset, a JSON config and `--key=value` overrides, with a
 * progress bar, JSONL metrics, checkpoints, `--resume`, and Ctrl-C saving before it exits.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { describeBackend, readConfigFile, runMain, startBackend } from "./common.ts";
import { formatDuration, ProgressBar } from "./progress.ts";
import { CONFIG_KEYS, resolveConfig } from "../train/config.ts";
import { nearest } from "../train/nearest.ts";
import { openTrainingData } from "../train/data.ts";
import { checkResumable, hasCheckpoint, loadCheckpoint } from "../train/checkpoint.ts";
import { train } from "../train/loop.ts";
import { paramCount } from "../model/sizing.ts";
import { resolveModelConfig } from "../model/config.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  preset: { type: "string", description: "tiny | small | t0 | t1 | t2 | paper125m (default tiny).", valueName: "name" },
  config: { type: "string", description: "JSON file of config keys (applied after the preset).", valueName: "file" },
  backend: { type: "string", description: "cpu | webgpu | auto (default auto, env NK_BACKEND).", valueName: "name" },
  provider: { type: "string", description: "WebGPU provider: deno | dawn.", valueName: "name" },
  out: { type: "string", description: "Folder of runs (default runs).", valueName: "dir" },
  name: { type: "string", description: "Run name (default <preset>-<arch>-<seed>).", valueName: "name" },
  resume: { type: "boolean", description: "Continue the run in <out>/<name> from its checkpoint." },
} as const;

const HELP = formatHelp(SPEC, {
  usage: "deno task train [--preset NAME] [--config FILE] [--key=value ...]",
  footer: "Any config key can be set with --key=value, e.g. --arch=preln --lr=3e-3 --steps=500 --gradStats=true.",
});

await runMain(async () => {
  const { flags, overrides } = parseFlags(Deno.args, SPEC, { allowConfigKeys: true });
  if (flags.help) return console.log(HELP);
  const layers: Record<string, unknown>[] = [];
  if (flags.preset) layers.push({ preset: flags.preset });
  if (flags.config) layers.push(await readConfigFile(flags.config));
  const direct = Object.fromEntries(
    (["backend", "provider", "out", "name"] as const).filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]),
  );
  layers.push(direct, overrides);
  for (const key of Object.keys(overrides)) {
    const flag = nearest(key, Object.keys(SPEC));
    if (!CONFIG_KEYS.includes(key) && flag && !CONFIG_KEYS.includes(flag)) {
      throw new UsageError(`Unknown flag "--${key}": did you mean "--${flag}"?`);
    }
  }
  const config = resolveConfig(layers);
  const name = config.name || `${config.preset}-${config.arch}-s${config.seed}`;
  const runDir = `${config.out}/${name}`;
  const exists = await hasCheckpoint(`${runDir}/checkpoint`);
  if (flags.resume && !exists) throw new UsageError(`Cannot resume "${runDir}": it has no checkpoint`);
  if (!flags.resume && exists) {
    throw new UsageError(
      `Run folder "${runDir}" already has a checkpoint: pass --resume to continue it, or --name to start another`,
    );
  }
  // A corrupted or foreign checkpoint is refused (CheckpointError, exit 2) before anything is written.
  const checkpoint = flags.resume ? await loadCheckpoint(`${runDir}/checkpoint`) : undefined;
  if (checkpoint) checkResumable(checkpoint, config);
  const backend = await startBackend(config);
  let data;
  try {
    data = await openTrainingData(config, { onProgress: (p) => console.error(`data: ${p.message}`) });
  } catch (e) {
    throw new UsageError(`Cannot use corpus "${config.corpus}": ${(e as Error).message}`);
  }
  try {
    if (checkpoint) {
      // Opening for append writes nothing, so a refused resume leaves every mtime as it was.
      (await Deno.open(`${runDir}/metrics.jsonl`, { append: true, create: true })).close();
    } else {
      await Deno.mkdir(runDir, { recursive: true });
      await Deno.writeTextFile(`${runDir}/.write-test`, "");
      await Deno.remove(`${runDir}/.write-test`);
    }
  } catch (e) {
    throw new UsageError(`Cannot write to run folder "${runDir}": ${(e as Error).message}`);
  }
  const params = paramCount(resolveModelConfig(config)).total;
  console.error(
    `run ${runDir}: ${config.arch} L=${config.layers} d=${config.dModel} H=${config.heads} (${
      params.toLocaleString("en")
    } params) on ${describeBackend(backend)}`,
  );
  const bar = new ProgressBar(config.steps, config.logEvery);
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) Deno.exit(130);
    bar.log("interrupted: saving a checkpoint (Ctrl-C again to quit without saving)");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const result = await train({
    config,
    runDir,
    resume: flags.resume,
    checkpoint,
    signal: abort.signal,
    data,
    onProgress: (p) => bar.update(p),
    onRecord: (r) => {
      if (r.kind === "eval") {
        bar.log(`eval step ${r.step}: valid loss ${r.loss.toFixed(4)} ppl ${r.ppl.toFixed(2)} bpb ${r.bpb.toFixed(3)}`);
      }
    },
  });
  Deno.removeSignalListener("SIGINT", onSigint);
  bar.done();
  const e = result.lastEval;
  console.error(
    `${result.stopped === "done" ? "done" : "stopped"} at step ${result.step}` +
      (e
        ? `: valid loss ${e.loss.toFixed(4)}, bits per byte ${e.bpb.toFixed(3)}, ${formatDuration(e.time)} of training`
        : "") +
      `. Metrics: ${runDir}/metrics.jsonl, checkpoint: ${runDir}/checkpoint`,
  );
  if (result.stopped === "interrupted") Deno.exit(130);
});
