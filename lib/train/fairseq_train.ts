/**
 * A training run as `fairseq-train` flags, and back. The model flags are derived from `fairseqModelArgs` (each
 * argument becomes its `--flag`), the training flags from the run's config: fairseq's Adam (decoupled weight decay on
 * every parameter, as ours), `polynomial_decay` for our "linear", "constant" and "ramp" schedules, `cosine` for
 * "cosine", `--sample-break-mode none` blocks of T tokens, B sequences per update. `trainConfigFromFairseq` reads
 * the same flags (or a checkpoint's `cfg` sections, merged) back into a config layer.
 * Legend: B sequences per update, T context, V vocabulary.
 * @module
 */
import type { TrainConfig } from "./config.ts";
import { fairseqModelArgs, modelConfigFromFairseq } from "./fairseq_config.ts";

/** fairseq's command-line spelling of an argument: `decoder_embed_dim` → `--decoder-embed-dim`. */
const flagName = (key: string): string => `--${key.replaceAll("_", "-")}`;

/** A number as Python reads it back exactly (JavaScript's shortest round-trip form). */
const pyNum = (v: number): string => String(v);

/** Arguments as flags: true → `--flag`, false/null → nothing, a value → `--flag value`. */
function toFlags(args: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(args)) {
    if (v === false || v === null || v === undefined) continue;
    if (v === true) out.push(flagName(key));
    else out.push(flagName(key), typeof v === "number" ? pyNum(v) : String(v));
  }
  return out;
}

/** fairseq model arguments that are defaults (false) or named by `--arch`; the rest become flags. */
const NOT_FLAGS = new Set(["_name", "tokens_per_sample"]);

/**
 * The `fairseq-train` flags that build our model in fairseq 0.12 (`--arch transformer_lm` and every argument of
 * `fairseqModelArgs` that is not fairseq's default false), derived, never typed by hand.
 * @example
 * ```ts
 * import { fairseqModelFlags, resolveModelConfig } from "../../mod.ts";
 * const flags = fairseqModelFlags(resolveModelConfig({ arch: "preln", dModel: 64, heads: 2 }));
 * console.log(flags.includes("--decoder-normalize-before"), flags.includes("--scale-attn")); // true false
 * ```
 */
export function fairseqModelFlags(cfg: Parameters<typeof fairseqModelArgs>[0]): string[] {
  checkCommandLine(cfg);
  const args = fairseqModelArgs(cfg);
  const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !NOT_FLAGS.has(k)));
  return ["--arch", String(args._name), ...toFlags(rest)];
}

/**
 * What fairseq 0.12.2's command line refuses although its weights load: `--activation-fn` offers relu, gelu,
 * gelu_fast, gelu_accurate, tanh and linear (checked with its parser), not relu_squared.
 */
function checkCommandLine(cfg: Parameters<typeof fairseqModelArgs>[0]): void {
  if (cfg.activation === "reluSquared") {
    throw new Error(
      'Cannot express activation "reluSquared" on fairseq 0.12.2\'s command line: --activation-fn accepts relu, ' +
        "gelu, gelu_fast, gelu_accurate, tanh or linear (its checkpoints with relu_squared still import)",
    );
  }
}

/** The learning-rate scheduler arguments for our schedule (see `lib/optim/schedule.ts`). */
function schedulerArgs(cfg: TrainConfig): Record<string, unknown> {
  switch (cfg.schedule) {
    case "linear":
      return {
        lr: cfg.lr,
        lr_scheduler: "polynomial_decay",
        warmup_updates: cfg.warmup,
        total_num_update: cfg.steps,
        end_learning_rate: cfg.endLr,
        power: 1,
      };
    case "constant": // a decay from lr to lr: the warm-up, then lr
      return {
        lr: cfg.lr,
        lr_scheduler: "polynomial_decay",
        warmup_updates: cfg.warmup,
        total_num_update: cfg.steps,
        end_learning_rate: cfg.lr,
        power: 1,
      };
    case "ramp": // a warm-up over the whole run to rampK·steps is lr = rampK·t
      return {
        lr: cfg.rampK * cfg.steps,
        lr_scheduler: "polynomial_decay",
        warmup_updates: cfg.steps,
        total_num_update: cfg.steps,
        end_learning_rate: cfg.rampK * cfg.steps,
        power: 1,
      };
    case "cosine":
      if (!(cfg.endLr < cfg.lr) || cfg.warmup >= cfg.steps) {
        throw new Error(
          `Cannot express a "cosine" schedule with endLr ${cfg.endLr}, lr ${cfg.lr}, warmup ${cfg.warmup} and ` +
            `steps ${cfg.steps} in fairseq: its cosine scheduler needs endLr < lr and warmup < steps`,
        );
      }
      return {
        lr: cfg.lr,
        lr_scheduler: "cosine",
        warmup_updates: cfg.warmup,
        warmup_init_lr: 0,
        min_lr: cfg.endLr,
      };
  }
}

/**
 * The fairseq 0.12 arguments (flat, snake_case as in `cfg.task`, `cfg.model`, `cfg.optimization`, … merged) of a
 * run, except the per-GPU batch size (`batch_size`, `update_freq`, `distributed_world_size`: B is split over
 * GPUs and accumulation, see `train.sh`). Throws for what fairseq cannot express.
 * @example
 * ```ts
 * import { fairseqTrainArgs, resolveConfig } from "../../mod.ts";
 * const args = fairseqTrainArgs(resolveConfig([{ preset: "tiny", lr: 2e-3 }]));
 * console.log(args.lr, args.lr_scheduler, args.adam_betas); // 0.002 polynomial_decay (0.9, 0.98)
 * ```
 */
export function fairseqTrainArgs(cfg: TrainConfig): Record<string, unknown> {
  if (cfg.noDecayNormsAndScales) {
    throw new Error(
      "Cannot express noDecayNormsAndScales true in fairseq: its Adam decays every parameter (one group)",
    );
  }
  if (cfg.initScales) {
    throw new Error(
      `Cannot express initScales "${cfg.initScales}" in fairseq: it initializes every learned scale to 1`,
    );
  }
  checkCommandLine(cfg);
  const { _name: _, tokens_per_sample: __, ...model } = fairseqModelArgs(cfg);
  const batchTokens = cfg.batchSize * cfg.contextLength;
  return {
    task: "language_modeling",
    sample_break_mode: "none",
    tokens_per_sample: cfg.contextLength,
    arch: "transformer_lm",
    ...model,
    criterion: "cross_entropy",
    optimizer: "adam",
    adam_betas: `(${pyNum(cfg.beta1)}, ${pyNum(cfg.beta2)})`,
    adam_eps: cfg.eps,
    weight_decay: cfg.weightDecay,
    clip_norm: cfg.clipNorm,
    ...schedulerArgs(cfg),
    max_update: cfg.steps,
    required_batch_size_multiple: 1,
    seed: cfg.seed,
    ...(cfg.evalEvery > 0
      ? {
        valid_subset: "valid",
        validate_interval_updates: cfg.evalEvery,
        max_valid_steps: Math.max(1, Math.floor(cfg.evalTokens / batchTokens)),
      }
      : { disable_validation: true }),
    ...(cfg.checkpointEvery > 0 ? { save_interval_updates: cfg.checkpointEvery } : {}),
    no_epoch_checkpoints: true,
    log_format: "simple",
    log_interval: cfg.logEvery,
  };
}

/**
 * `fairseqTrainArgs` as `fairseq-train` flags (`--arch` first among the model flags; values as Python parses them).
 * @example
 * ```ts
 * import { fairseqTrainFlags, resolveConfig } from "../../mod.ts";
 * const flags = fairseqTrainFlags(resolveConfig([{ preset: "tiny", arch: "postln" }]));
 * console.log(flags.includes("--decoder-normalize-before")); // false
 * ```
 */
export function fairseqTrainFlags(cfg: TrainConfig): string[] {
  return toFlags(fairseqTrainArgs(cfg));
}

/**
 * Flags (`--a-b value`, `--switch`) back to fairseq's flat snake_case arguments: numbers become numbers, a
 * flag without a value becomes true. Throws for a stray value.
 * @example
 * ```ts
 * import { parseFairseqFlags } from "../../mod.ts";
 * console.log(parseFairseqFlags(["--lr", "0.001", "--scale-attn"])); // { lr: 0.001, scale_attn: true }
 * ```
 */
export function parseFairseqFlags(argv: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`Cannot read fairseq flags: "${a}" is not a --flag (at ${i})`);
    const key = a.slice(2).replaceAll("-", "_");
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[key] = true;
    else {
      out[key] = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return out;
}

const first = (v: unknown): unknown => Array.isArray(v) ? v[0] : v;

function number(args: Record<string, unknown>, key: string, fallback?: number): number {
  let v = first(args[key]) ?? fallback;
  // fairseq's argparse keeps some interpolated fields (total_num_update, …) as the string it was given
  if (typeof v === "string" && v.trim() !== "") v = Number(v);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`Cannot read fairseq config: ${key} is ${JSON.stringify(args[key])}, expected a number`);
  }
  return v;
}

/** fairseq's `adam_betas`: the string "(0.9, 0.98)" of the command line, or a list. */
function betas(v: unknown): [number, number] {
  const list = typeof v === "string" ? v.replace(/[()[\]\s]/g, "").split(",").map(Number) : v;
  if (!Array.isArray(list) || list.length !== 2 || list.some((b) => typeof b !== "number" || !Number.isFinite(b))) {
    throw new Error(`Cannot read fairseq config: adam_betas is ${JSON.stringify(v)}, expected "(beta1, beta2)"`);
  }
  return [list[0], list[1]];
}

/** Our schedule fields for fairseq's scheduler arguments. */
function scheduleFrom(args: Record<string, unknown>, steps: number): Partial<TrainConfig> {
  const name = String(args.lr_scheduler ?? "fixed");
  const lr = number(args, "lr"), warmup = number(args, "warmup_updates", 0);
  if (name === "cosine") return { schedule: "cosine", lr, warmup, endLr: number(args, "min_lr", 0) };
  if (name !== "polynomial_decay" || number(args, "power", 1) !== 1) {
    throw new Error(
      `Cannot read fairseq config: lr_scheduler ${JSON.stringify(name)} (power ${
        JSON.stringify(args.power ?? 1)
      }) has no counterpart here; expected polynomial_decay with power 1, or cosine`,
    );
  }
  const end = number(args, "end_learning_rate", 0), total = number(args, "total_num_update", steps);
  if (total !== steps) {
    throw new Error(`Cannot read fairseq config: total_num_update ${total} differs from max_update ${steps}`);
  }
  if (warmup === steps && end === lr) return { schedule: "ramp", rampK: lr / steps };
  if (end === lr) return { schedule: "constant", lr, warmup, endLr: 0 };
  return { schedule: "linear", lr, warmup, endLr: end };
}

/**
 * A config layer (for `resolveConfig`) from fairseq arguments: flat flags parsed by `parseFairseqFlags`, or a
 * checkpoint's `cfg` with its sections merged. B = batch_size × distributed_world_size × update_freq. Throws
 * naming the argument for what this kit cannot express.
 * @example
 * ```ts
 * import { fairseqTrainFlags, parseFairseqFlags, resolveConfig, trainConfigFromFairseq } from "../../mod.ts";
 * const cfg = resolveConfig([{ preset: "tiny", lr: 3e-3 }]);
 * const flat = { ...parseFairseqFlags(fairseqTrainFlags(cfg)), batch_size: cfg.batchSize };
 * console.log(trainConfigFromFairseq(flat, 256).lr); // 0.003
 * ```
 */
export function trainConfigFromFairseq(args: Record<string, unknown>, vocabSize: number): Partial<TrainConfig> {
  const model = modelConfigFromFairseq(args, vocabSize);
  const steps = number(args, "max_update");
  const perGpu = number(args, "batch_size");
  const batchSize = perGpu * number(args, "distributed_world_size", 1) * number(args, "update_freq", 1);
  const [beta1, beta2] = betas(args.adam_betas ?? "(0.9, 0.999)");
  const opt = String(args.optimizer ?? "");
  if (opt !== "adam") {
    throw new Error(`Cannot read fairseq config: optimizer ${JSON.stringify(opt)}, expected "adam"`);
  }
  return {
    ...model,
    steps,
    batchSize,
    ...scheduleFrom(args, steps),
    beta1,
    beta2,
    eps: number(args, "adam_eps", 1e-8),
    weightDecay: number(args, "weight_decay", 0),
    clipNorm: number(args, "clip_norm", 0),
    seed: number(args, "seed", 1),
    tokenizer: vocabSize === 50257 ? "gpt2" : "byte",
    evalEvery: args.disable_validation === true ? 0 : number(args, "validate_interval_updates", 0),
    logEvery: number(args, "log_interval", 100),
    checkpointEvery: number(args, "save_interval_updates", 0),
  };
}
