/**
 * The training config: one flat, typed object (model fields plus run fields) with defaults. "Config is data"
 * (DESIGN.md): `resolveConfig` lays the defaults, a preset, a JSON file's contents and `--key=value` flags over
 * each other, checks every value, and the resolved object is saved with the run.
 * @module
 */
import type { BackendName, Provider } from "../backend/select.ts";
import { MODEL_DEFAULTS, type ModelConfig, resolveModelConfig } from "../model/config.ts";
import { checkSchedule, type ScheduleName, SCHEDULES } from "../optim/schedule.ts";
import { nearest } from "./nearest.ts";
import { PRESET_LAYERS, PRESET_NAMES, type PresetName } from "./presets.ts";

export type { PresetName } from "./presets.ts";

/** The run fields of a training config (the model fields are `ModelConfig`'s). */
export interface TrainOptions {
  /** The preset laid under everything else (recorded so a saved config says where it started). */
  preset: PresetName;
  /** Optimizer updates. */
  steps: number;
  /** Sequences per forward/backward pass (each `contextLength` tokens). */
  batchSize: number;
  /**
   * Gradient accumulation, fairseq's `--update-freq`: each update sums the gradients of this many batches of
   * `batchSize` (the loss of each scaled by 1/updateFreq), so an update sees `updateFreq × batchSize` sequences with
   * the memory of one batch. Absent means 1 (the resolved config leaves it out then, so configs saved before it
   * existed compare equal).
   */
  updateFreq?: number;
  /** Peak learning rate. */
  lr: number;
  /** Schedule shape (see `lib/optim/schedule.ts`). */
  schedule: ScheduleName;
  /** Warm-up updates (linear from 0 to `lr`). */
  warmup: number;
  /** Final learning rate of "linear" and "cosine". */
  endLr: number;
  /** Learning-rate increment per update of "ramp" (the paper's stability test uses 5e-5). */
  rampK: number;
  /** Adam β1. */
  beta1: number;
  /** Adam β2. */
  beta2: number;
  /** Adam ε. */
  eps: number;
  /** Decoupled weight decay (fairseq applies it to every parameter). */
  weightDecay: number;
  /** Exclude LayerNorm gains/biases and the learned scales from weight decay. */
  noDecayNormsAndScales: boolean;
  /** Global gradient-norm clip; 0 turns clipping off (the paper's setting). */
  clipNorm: number;
  /** Seed of every random draw (init, dropout, data order). */
  seed: number;
  /** Evaluate the validation loss every this many updates; 0 turns evaluation off. */
  evalEvery: number;
  /** Held-out tokens per evaluation. */
  evalTokens: number;
  /** Write a metrics record every this many updates. */
  logEvery: number;
  /** Save a checkpoint every this many updates; 0 saves none during the run. */
  checkpointEvery: number;
  /** Record per-layer gradient norms in the metrics. */
  gradStats: boolean;
  /** With gradStats, also record per-layer activation and fc2-output-gradient RMS every this many steps (0: off). */
  actStatsEvery: number;
  /** "gutenberg" (the prepared npm corpus) or a path to a text file or prepared corpus. */
  corpus: string;
  /** Byte-level tokens (V = 256) or GPT-2 BPE (V = 50257). */
  tokenizer: "byte" | "gpt2";
  /** Compute backend. */
  backend: BackendName;
  /** WebGPU adapter provider. */
  provider: Provider;
  /** Folder holding the runs. */
  out: string;
  /** Run name (a folder under `out`); empty lets the trainer pick one. */
  name: string;
  /** Skip an update whose loss or gradient norm is not finite, instead of stopping the run. */
  skipNonFinite: boolean;
  /**
   * Start NormFormer's learned scales from given per-layer values instead of 1: "paper" (Fig. 4's medians, 12
   * layers) or a JSON file of `ScaleValues`; empty keeps the init. A mechanism demonstration, not the paper's setup.
   */
  initScales: string;
}

/** Every field of a training run. */
export type TrainConfig = ModelConfig & TrainOptions;

/** A bad config value or key; the message names the key, the value and what was expected. */
export class ConfigError extends Error {
  /** "ConfigError", so `catch` blocks and stack traces can tell it from other errors. */
  override name = "ConfigError";
}

/** Run fields and their defaults (the preset, then a file and flags, override them). */
export const TRAIN_DEFAULTS: Readonly<TrainOptions> = Object.freeze({
  preset: "tiny",
  steps: 200,
  batchSize: 8,
  lr: 1e-3,
  schedule: "linear",
  warmup: 20,
  endLr: 0,
  rampK: 5e-5,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  weightDecay: 0.01,
  noDecayNormsAndScales: false,
  clipNorm: 0,
  seed: 1,
  evalEvery: 50,
  evalTokens: 8192,
  logEvery: 10,
  checkpointEvery: 0,
  gradStats: false,
  actStatsEvery: 0,
  corpus: "gutenberg",
  tokenizer: "byte",
  backend: "auto",
  provider: "deno",
  out: "runs",
  name: "",
  skipNonFinite: false,
  initScales: "",
});

type Kind = "number" | "boolean" | "string";
interface Rule {
  kind: Kind;
  expected: string;
  ok?: (v: any) => boolean;
}

const int = (min: number, max = Infinity) => (v: number) => Number.isInteger(v) && v >= min && v <= max;
const num = (lo: number, hi: number, loOpen = false, hiOpen = true) => (v: number) =>
  (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
const oneOf = (choices: readonly string[]): Rule => ({
  kind: "string",
  expected: `one of ${choices.map((c) => `"${c}"`).join(", ")}`,
  ok: (v: string) => choices.includes(v),
});
const bool: Rule = { kind: "boolean", expected: "true or false" };
const intRule = (min: number): Rule => ({ kind: "number", expected: `an integer ≥ ${min}`, ok: int(min) });

const TRAIN_RULES: Record<keyof TrainOptions, Rule> = {
  preset: oneOf(PRESET_NAMES),
  steps: intRule(1),
  batchSize: intRule(1),
  updateFreq: intRule(1),
  lr: { kind: "number", expected: "a finite number > 0", ok: num(0, Infinity, true) },
  schedule: oneOf(SCHEDULES),
  warmup: intRule(0),
  endLr: { kind: "number", expected: "a finite number ≥ 0", ok: num(0, Infinity) },
  rampK: { kind: "number", expected: "a finite number ≥ 0", ok: num(0, Infinity) },
  beta1: { kind: "number", expected: "0 ≤ beta1 < 1", ok: num(0, 1) },
  beta2: { kind: "number", expected: "0 ≤ beta2 < 1", ok: num(0, 1) },
  eps: { kind: "number", expected: "a finite number > 0", ok: num(0, Infinity, true) },
  weightDecay: { kind: "number", expected: "a finite number ≥ 0", ok: num(0, Infinity) },
  noDecayNormsAndScales: bool,
  clipNorm: { kind: "number", expected: "a finite number ≥ 0 (0 = off)", ok: num(0, Infinity) },
  seed: { kind: "number", expected: "an integer in [0, 2^32)", ok: int(0, 2 ** 32 - 1) },
  evalEvery: intRule(0),
  evalTokens: intRule(1),
  logEvery: intRule(1),
  checkpointEvery: intRule(0),
  gradStats: bool,
  actStatsEvery: intRule(0),
  corpus: { kind: "string", expected: "a non-empty string", ok: (v: string) => v.length > 0 },
  tokenizer: oneOf(["byte", "gpt2"]),
  backend: oneOf(["cpu", "webgpu", "auto"]),
  provider: oneOf(["deno", "dawn"]),
  out: { kind: "string", expected: "a non-empty path", ok: (v: string) => v.length > 0 },
  name: {
    kind: "string",
    expected: "letters, digits, '.', '_' or '-' (a folder name), or empty",
    ok: (v: string) => /^[A-Za-z0-9._-]*$/.test(v) && v !== "." && v !== "..",
  },
  skipNonFinite: bool,
  initScales: {
    kind: "string",
    expected: '"", "paper" or a path to a JSON file',
    ok: (v: string) => typeof v === "string",
  },
};

// Model fields: only the type here; resolveModelConfig checks ranges and the relations between fields.
const MODEL_RULES = Object.fromEntries(
  Object.entries(MODEL_DEFAULTS).map(([k, v]) => {
    const kind = typeof v as Kind;
    return [k, { kind, expected: kind === "boolean" ? "true or false" : `a ${kind}` }];
  }),
) as Record<keyof ModelConfig, Rule>;

const RULES: Record<string, Rule> = { ...MODEL_RULES, ...TRAIN_RULES };

// What each model field accepts, for --help (resolveModelConfig checks them, and the relations between them).
const MODEL_EXPECTED: Record<keyof ModelConfig, string> = {
  vocabSize: "integer ≥ 256 (byte) or ≥ 50257 (gpt2)",
  dModel: "integer ≥ 1, even, divisible by heads",
  heads: "integer ≥ 1",
  dFF: "integer ≥ 1",
  layers: "integer ≥ 1",
  contextLength: "integer ≥ 1",
  arch: '"postln" | "preln" | "normformer"',
  postAttnNorm: "true | false (follows arch)",
  headScale: "true | false (follows arch)",
  headScalePlacement: '"postOutProj" | "preOutProj"',
  ffnNorm: "true | false (follows arch)",
  residScale: "true | false",
  activation: '"gelu" | "reluSquared"',
  positions: '"sinusoidal" | "learned"',
  dropout: "0 ≤ p < 1",
  attentionDropout: "0 ≤ p < 1",
  activationDropout: "0 ≤ p < 1",
};

/**
 * Every config key with what it accepts and its value in a preset, as aligned lines for `--help`.
 * @example
 * ```ts
 * import { configKeyHelp } from "./config.ts";
 * const lines = configKeyHelp("tiny");
 * console.log(lines.find((l) => l.trimStart().startsWith("steps "))); //   steps  …  integer ≥ 1  …  200
 * ```
 */
export function configKeyHelp(preset: PresetName = TRAIN_DEFAULTS.preset): string[] {
  const cfg = resolveConfig([{ preset }]) as unknown as Record<string, unknown>;
  const rows = CONFIG_KEYS.map((key) => {
    const expected = (MODEL_EXPECTED as Record<string, string>)[key] ?? RULES[key].expected;
    const value = key === "updateFreq" ? cfg[key] ?? 1 : cfg[key]; // left out of a config when 1
    return [key, expected.replace(/^(one of |an? )/, ""), JSON.stringify(value)];
  });
  rows.unshift(["key", "accepts", `value in preset ${preset}`]);
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2, w1 = Math.max(...rows.map((r) => r[1].length)) + 2;
  return rows.map(([k, e, d]) => `  ${k.padEnd(w0)}${e.padEnd(w1)}${d}`);
}

/** Every valid config key, model fields first. */
export const CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(RULES));

const MIN_VOCAB = { byte: 256, gpt2: 50257 } as const;

function bad(key: string, value: unknown, expected: string): ConfigError {
  return new ConfigError(`Invalid ${key} ${JSON.stringify(value)}: expected ${expected}`);
}

/** Convert flag strings ("1e-3", "true") to the key's type, then check type and range. */
function coerce(key: string, value: unknown): unknown {
  const rule = RULES[key];
  let v = value;
  if (typeof v === "string" && rule.kind === "number" && v.trim() !== "") v = Number(v);
  if (typeof v === "string" && rule.kind === "boolean" && (v === "true" || v === "false")) v = v === "true";
  const typed = rule.kind === "number"
    ? typeof v === "number" && Number.isFinite(v)
    : rule.kind === "boolean"
    ? typeof v === "boolean"
    : typeof v === "string";
  if (!typed || (rule.ok && !rule.ok(v))) throw bad(key, value, rule.expected);
  return v;
}

function unknownKey(key: string): ConfigError {
  const hint = nearest(key, CONFIG_KEYS);
  return new ConfigError(
    hint
      ? `Unknown config key "${key}": did you mean "${hint}"?`
      : `Unknown config key "${key}": expected one of ${CONFIG_KEYS.join(", ")}`,
  );
}

/**
 * Resolve a config from layers, later ones winning: defaults, then the preset (the last layer that names one;
 * "tiny" if none), then every layer in order (typically a JSON file's contents, then flag overrides). Values may
 * be typed or, as flags give them, strings ("1e-3", "true"). Unknown keys, bad types and out-of-range values
 * throw a `ConfigError`; model fields are checked by `resolveModelConfig`, and the NormFormer switches follow
 * `arch` unless some layer sets them.
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const fromFile = { preset: "small", arch: "preln", lr: 2e-3 };
 * const fromFlags = { lr: "3e-3", gradStats: "true" };
 * const cfg = resolveConfig([fromFile, fromFlags]);
 * console.log(cfg.layers, cfg.lr, cfg.gradStats, cfg.ffnNorm); // 6 0.003 true false
 * try {
 *   resolveConfig([{ dmodel: 128 }]);
 * } catch (e) {
 *   console.log((e as Error).message); // Unknown config key "dmodel": did you mean "dModel"?
 * }
 * ```
 */
export function resolveConfig(layers: ReadonlyArray<Record<string, unknown>> = []): TrainConfig {
  const given: Record<string, unknown> = {};
  layers.forEach((layer, i) => {
    if (layer === null || typeof layer !== "object" || Array.isArray(layer)) {
      throw new ConfigError(
        `Invalid config layer ${i}: expected an object of key/value pairs, got ${
          Array.isArray(layer) ? "an array" : JSON.stringify(layer)
        }`,
      );
    }
    for (const [key, value] of Object.entries(layer)) {
      if (!Object.hasOwn(RULES, key)) throw unknownKey(key);
      if (value !== undefined) given[key] = coerce(key, value);
    }
  });
  const preset = (given.preset ?? TRAIN_DEFAULTS.preset) as PresetName;
  const merged: Record<string, unknown> = { ...PRESET_LAYERS[preset], ...given, preset };
  let model: ModelConfig;
  try {
    model = resolveModelConfig(Object.fromEntries(Object.keys(MODEL_RULES).map((k) => [k, merged[k]])));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const train = { ...TRAIN_DEFAULTS };
  for (const key of Object.keys(TRAIN_RULES)) {
    if (merged[key] !== undefined) (train as Record<string, unknown>)[key] = merged[key];
  }
  const cfg: TrainConfig = { ...model, ...train };
  if (cfg.updateFreq === 1) delete cfg.updateFreq;
  cfg.warmup = scaledWarmup(cfg, given);
  if (cfg.evalTokens < cfg.contextLength) {
    throw bad("evalTokens", cfg.evalTokens, `at least contextLength (${cfg.contextLength}): one block to evaluate`);
  }
  if (cfg.vocabSize < MIN_VOCAB[cfg.tokenizer]) {
    throw bad("vocabSize", cfg.vocabSize, `at least ${MIN_VOCAB[cfg.tokenizer]} for the "${cfg.tokenizer}" tokenizer`);
  }
  try {
    checkSchedule(cfg);
  } catch (e) {
    const m = (e as Error).message;
    throw new ConfigError(m.includes("at most steps") ? `${m}; lower warmup (--warmup=N) or raise steps` : m);
  }
  return cfg;
}

/**
 * A warm-up that no layer set (it comes from the preset or the defaults) keeps its share of the preset's steps when
 * a shorter run would end inside it: `--preset tiny --steps=10` warms up for 1 update (tiny's 20 of 200), where
 * 20 would be an error for a decaying schedule. A warm-up that fits, or one set by a layer, is kept as it is.
 */
function scaledWarmup(cfg: TrainConfig, given: Record<string, unknown>): number {
  const decays = cfg.schedule !== "constant" && cfg.schedule !== "ramp"; // warm-up > steps is legal otherwise
  if (given.warmup !== undefined || cfg.warmup <= cfg.steps || !decays) return cfg.warmup;
  const base = PRESET_LAYERS[cfg.preset];
  const baseSteps = base.steps ?? TRAIN_DEFAULTS.steps, baseWarmup = base.warmup ?? TRAIN_DEFAULTS.warmup;
  return Math.min(cfg.steps, Math.round(baseWarmup * cfg.steps / baseSteps));
}

/**
 * Each preset resolved on its own (`resolveConfig([{ preset: name }])`): ready-made configs, also usable as a
 * `ModelConfig`.
 * @example
 * ```ts
 * import { presets } from "./config.ts";
 * console.log(presets.t1.layers, presets.t1.dModel, presets.t1.contextLength); // 12 128 256
 * ```
 */
export const presets: Readonly<Record<PresetName, Readonly<TrainConfig>>> = Object.freeze(
  Object.fromEntries(PRESET_NAMES.map((name) => [name, Object.freeze(resolveConfig([{ preset: name }]))])) as Record<
    PresetName,
    TrainConfig
  >,
);
