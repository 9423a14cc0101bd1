/**
 * `deno task train`: train a NormFormer-family LM from a preset, a JSON config and `--key=value` overrides, with a
 * progress bar, JSONL metrics, checkpoints, `--resume`, and Ctrl-C saving before it exits. `--resume` continues
 * the run's own saved config: flags may change only `RESUMABLE_KEYS` (each change is printed and recorded in the
 * run's config-history.jsonl); the run folder is locked against a second writer.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { describeBackend, exitWhenIdle, readConfigFile, runMain, startBackend } from "./common.ts";
import { formatDuration, ProgressBar } from "./progress.ts";
import { CONFIG_KEYS, ConfigError, configKeyHelp, resolveConfig, TRAIN_DEFAULTS } from "../train/config.ts";
import { availableMemory, estimateMemory, formatBytes, memoryRefusal } from "../train/memory.ts";
import { PRESET_LAYERS, PRESET_NAMES, type PresetName } from "../train/presets.ts";
import { nearest } from "../train/nearest.ts";
import { openTrainingData } from "../train/data.ts";
import { hasCheckpoint, isCurrentCheckpoint, loadCheckpoint } from "../train/checkpoint.ts";
import { acquireRunLock, RunLockError } from "../train/run_lock.ts";
import { CONFIG_HISTORY_FILE, type ConfigChange, describeChange, resumeConfig } from "../train/resume.ts";
import { loadForResume, train } from "../train/loop.ts";
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
  resume: {
    type: "boolean",
    description: "Continue the run in <out>/<name> from its checkpoint, with its own config (flags may change only " +
      "steps, evalEvery, logEvery, checkpointEvery, skipNonFinite, backend, provider).",
  },
} as const;

const help = (preset: PresetName) =>
  formatHelp(SPEC, {
    usage: "deno task train [--preset NAME] [--config FILE] [--key=value | --key value ...]",
    footer: [
      "Any config key is a flag, --key=value or --key value: --arch=preln --lr 3e-3 --steps=500 --gradStats.",
      `Config keys (the values of preset ${preset}; --preset NAME --help shows another):`,
      ...configKeyHelp(preset),
    ].join("\n"),
  });

await runMain(async () => {
  const { flags, overrides } = parseFlags(Deno.args, SPEC, { allowConfigKeys: true });
  if (flags.help) {
    const preset = PRESET_NAMES.includes(flags.preset as PresetName) ? flags.preset as PresetName : "tiny";
    return console.log(help(preset));
  }
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
  const given = resolveConfig(layers); // checks every value given, and says where the run folder is
  const name = given.name || `${given.preset}-${given.arch}-s${given.seed}`;
  const runDir = `${given.out}/${name}`;
  const ckptDir = `${runDir}/checkpoint`;
  const exists = await hasCheckpoint(ckptDir);
  if (flags.resume && !exists) throw new UsageError(`Cannot resume "${runDir}": it has no checkpoint`);
  if (!flags.resume && exists) {
    throw new UsageError(
      `Run folder "${runDir}" already has a checkpoint: pass --resume to continue it, or --name to start another`,
    );
  }
  // Read-only checks first, so a refused command writes nothing: a corrupted or foreign checkpoint
  // (CheckpointError), or a change --resume may not make (ConfigError), exits 2 here.
  let checkpoint = flags.resume ? await loadForResume(runDir) : undefined;
  let { config, changes } = checkpoint
    ? resumeConfig(checkpoint.config, layers, checkpoint.state.step)
    : { config: given, changes: [] as ConfigChange[] };
  const backend = await startBackend(config);
  // Memory, before the corpus and before any write: a run that cannot fit is refused in one line (exit 2).
  const mem = estimateMemory(config), avail = availableMemory();
  const memLine = `memory: about ${formatBytes(mem.total)} (parameters ${formatBytes(mem.parameters)}, optimizer ${
    formatBytes(mem.optimizer)
  }, activations ${formatBytes(mem.activations)}, eval ${formatBytes(mem.eval)})`;
  const refusal = backend.name === "cpu" && avail !== null && Deno.env.get("NK_MEMORY_CHECK") !== "0"
    ? memoryRefusal(config, avail)
    : null;
  if (refusal) throw new ConfigError(`${refusal} (NK_MEMORY_CHECK=0 skips this check)`);
  let data;
  try {
    data = await openTrainingData(config, { onProgress: (p) => console.error(`data: ${p.message}`) });
  } catch (e) {
    throw new UsageError(`Cannot use corpus "${config.corpus}": ${(e as Error).message}`);
  }
  // One writer per run folder, from before the first write to the end.
  let lock;
  try {
    lock = await acquireRunLock(runDir, "train");
  } catch (e) {
    if (e instanceof RunLockError) throw e;
    throw new UsageError(`Cannot write to run folder "${runDir}": ${(e as Error).message}`);
  }
  let stopped = false;
  try {
    if (!checkpoint && await hasCheckpoint(ckptDir)) {
      throw new UsageError(`Run folder "${runDir}" got a checkpoint from another run meanwhile: pass --resume`);
    }
    if (checkpoint && !(await isCurrentCheckpoint(ckptDir, checkpoint))) {
      // Another writer saved between the read above and the lock: continue from what is there now.
      checkpoint = await loadCheckpoint(ckptDir);
      ({ config, changes } = resumeConfig(checkpoint.config, layers, checkpoint.state.step));
    }
    if (lock.replaced) {
      const r = lock.replaced;
      console.error(
        `note: took over ${runDir}/run.lock left by pid ${r.pid} on ${r.host} (${r.command}, since ${r.started}), ` +
          (r.alive === false ? "which no longer runs" : "which no longer holds it"),
      );
    }
    const params = paramCount(resolveModelConfig(config)).total;
    console.error(
      `run ${runDir}: ${config.arch} L=${config.layers} d=${config.dModel} H=${config.heads} (${
        params.toLocaleString("en")
      } params) on ${describeBackend(backend)}`,
    );
    const presetWarmup = PRESET_LAYERS[config.preset].warmup ?? TRAIN_DEFAULTS.warmup;
    if (!checkpoint && config.warmup !== presetWarmup && !layers.some((l) => l.warmup !== undefined)) {
      console.error(
        `note: warmup ${presetWarmup} → ${config.warmup} (the ${config.preset} preset's share of a ${config.steps}-step ` +
          `run; --warmup=N sets it)`,
      );
    }
    console.error(avail === null ? memLine : `${memLine} of ${formatBytes(avail)} available`);
    if (checkpoint) {
      const s = checkpoint.state;
      console.error(
        `resuming from step ${s.step} of ${config.steps} (${s.tokens.toLocaleString("en")} tokens, ${
          formatDuration(s.time)
        } of training)`,
      );
      for (const c of changes) console.error(`resume: ${describeChange(c, config, s.step)}`);
      if (changes.length) console.error(`resume: changes recorded in ${runDir}/${CONFIG_HISTORY_FILE}`);
    }
    const bar = new ProgressBar(config.steps, config.logEvery);
    const abort = new AbortController();
    let interrupts = 0;
    const held = lock;
    const onSigint = () => {
      if (++interrupts > 1) {
        held.releaseSync();
        Deno.exit(130);
      }
      bar.log("interrupted: saving a checkpoint (Ctrl-C again to quit without saving)");
      abort.abort();
    };
    Deno.addSignalListener("SIGINT", onSigint);
    const result = await train({
      config,
      runDir,
      resume: flags.resume,
      checkpoint,
      lock,
      signal: abort.signal,
      data,
      onProgress: (p) => bar.update(p),
      onRecord: (r) => {
        if (r.kind === "eval") {
          bar.log(
            `eval step ${r.step}: valid loss ${r.loss.toFixed(4)} ppl ${r.ppl.toFixed(2)} bpb ${r.bpb.toFixed(3)}`,
          );
        }
      },
    }).finally(() => Deno.removeSignalListener("SIGINT", onSigint));
    bar.done();
    const e = result.lastEval;
    const done = result.stopped === "done";
    const evalText = !e
      ? ""
      : `${e.step === result.step ? ":" : `; last eval at step ${e.step}:`} valid loss ${
        e.loss.toFixed(4)
      }, bits per byte ${e.bpb.toFixed(3)}`;
    console.error(
      `${done ? "done" : "stopped"} at step ${result.step} after ${formatDuration(result.time)} of training` +
        `${evalText}. Metrics: ${runDir}/metrics.jsonl, checkpoint: ${runDir}/checkpoint` +
        (done ? "" : "; the same command plus --resume continues it"),
    );
    stopped = result.stopped === "interrupted";
  } finally {
    await lock.release();
  }
  if (stopped) await exitWhenIdle(130);
});
