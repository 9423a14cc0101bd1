/**
 * The model configuration: one typed object with defaults and checks. `arch: "normformer"` is Pre-LN with
 * the paper's three extra operations switched on (postAttnNorm, headScale, ffnNorm); each switch can be
 * overridden, and `residScale` is off unless asked for (NORMFORMER.md a.3).
 * Legend: V vocabulary, C = dModel, H heads, Dh = C/H, F = dFF, L layers, T context.
 * @module
 */

/** Layer variant: the original Post-LN, the GPT-style Pre-LN baseline, or NormFormer. */
export type Arch = "postln" | "preln" | "normformer";
/** Where HeadScale multiplies: each head's output before Wo (paper) or chunks of Wo's output (fairseq). */
export type HeadScalePlacement = "preOutProj" | "postOutProj";

/** Every field of a NormFormer-family causal LM. */
export interface ModelConfig {
  /** Vocabulary size V. */
  vocabSize: number;
  /** Model width C. */
  dModel: number;
  /** Attention heads H (dModel must be divisible by it). */
  heads: number;
  /** FFN width F. */
  dFF: number;
  /** Decoder layers L. */
  layers: number;
  /** Longest sequence T (positions table size). */
  contextLength: number;
  /** Layer variant. */
  arch: Arch;
  /** LayerNorm after attention (and HeadScale), before dropout and the residual add. */
  postAttnNorm: boolean;
  /** Learned per-head scale γ, initialised to 1. */
  headScale: boolean;
  /** HeadScale placement; fairseq's is the default for checkpoint compatibility. */
  headScalePlacement: HeadScalePlacement;
  /** LayerNorm of width F after the FFN activation. */
  ffnNorm: boolean;
  /** Learned λ ∈ R^C scaling the FFN sublayer's skip path. */
  residScale: boolean;
  /** FFN activation: exact GELU or relu². */
  activation: "gelu" | "reluSquared";
  /** Positions: fairseq's fixed sinusoids (default) or a learned table. */
  positions: "sinusoidal" | "learned";
  /** Residual dropout p. */
  dropout: number;
  /** Dropout on attention probabilities. */
  attentionDropout: number;
  /** Dropout after the FFN activation. */
  activationDropout: number;
}

const BASE: ModelConfig = {
  vocabSize: 256,
  dModel: 64,
  heads: 2,
  dFF: 256,
  layers: 2,
  contextLength: 128,
  arch: "normformer",
  postAttnNorm: true,
  headScale: true,
  headScalePlacement: "postOutProj",
  ffnNorm: true,
  residScale: false,
  activation: "gelu",
  positions: "sinusoidal",
  dropout: 0,
  attentionDropout: 0,
  activationDropout: 0,
};

/** Model fields and their defaults, for config parsing and error messages. */
export const MODEL_DEFAULTS: Readonly<ModelConfig> = Object.freeze({ ...BASE });

const SWITCHES = ["postAttnNorm", "headScale", "ffnNorm", "residScale"] as const;

/**
 * Fill defaults (switches follow `arch` unless given) and check every field; throws naming the field, the value
 * and what was expected.
 * @example
 * ```ts
 * import { resolveModelConfig } from "./config.ts";
 * const cfg = resolveModelConfig({ arch: "preln", dModel: 128, heads: 4, dFF: 512, layers: 12 });
 * console.log(cfg.postAttnNorm); // false
 * ```
 */
export function resolveModelConfig(partial: Partial<ModelConfig>): ModelConfig {
  const arch = partial.arch ?? BASE.arch;
  if (!["postln", "preln", "normformer"].includes(arch)) {
    throw new Error(`Unknown arch "${arch}": expected "postln", "preln" or "normformer"`);
  }
  const nf = arch === "normformer";
  const cfg: ModelConfig = {
    ...BASE,
    postAttnNorm: nf,
    headScale: nf,
    ffnNorm: nf,
    residScale: false,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  };
  for (const key of ["vocabSize", "dModel", "heads", "dFF", "layers", "contextLength"] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`Invalid ${key} ${JSON.stringify(v)}: expected an integer ≥ 1`);
  }
  if (cfg.dModel % cfg.heads !== 0) {
    throw new Error(`Invalid heads ${cfg.heads}: dModel ${cfg.dModel} must be divisible by it`);
  }
  if (cfg.positions === "sinusoidal" && cfg.dModel % 2 !== 0) {
    throw new Error(`Invalid dModel ${cfg.dModel}: sinusoidal positions need an even width`);
  }
  for (const key of ["dropout", "attentionDropout", "activationDropout"] as const) {
    const v = cfg[key];
    if (typeof v !== "number" || !(v >= 0 && v < 1)) {
      throw new Error(`Invalid ${key} ${JSON.stringify(v)}: expected 0 ≤ p < 1`);
    }
  }
  for (const key of SWITCHES) {
    if (typeof cfg[key] !== "boolean") {
      throw new Error(`Invalid ${key} ${JSON.stringify(cfg[key])}: expected true or false`);
    }
  }
  if (cfg.arch === "postln" && SWITCHES.some((k) => cfg[k])) {
    throw new Error(
      `Invalid arch "postln" with ${
        SWITCHES.filter((k) => cfg[k]).join(", ")
      }: NormFormer's operations extend Pre-LN; use arch "preln" or "normformer"`,
    );
  }
  if (!["preOutProj", "postOutProj"].includes(cfg.headScalePlacement)) {
    throw new Error(`Invalid headScalePlacement "${cfg.headScalePlacement}": expected "preOutProj" or "postOutProj"`);
  }
  if (!["gelu", "reluSquared"].includes(cfg.activation)) {
    throw new Error(`Invalid activation "${cfg.activation}": expected "gelu" or "reluSquared"`);
  }
  if (!["sinusoidal", "learned"].includes(cfg.positions)) {
    throw new Error(`Invalid positions "${cfg.positions}": expected "sinusoidal" or "learned"`);
  }
  return cfg;
}
