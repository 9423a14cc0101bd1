/**
 * Translation between our `ModelConfig` and the model arguments of fairseq's `transformer_lm` (the `cfg.model` of a
 * fairseq checkpoint, or the `--decoder-*` / `--scale-*` flags of `fairseq-train`). NormFormer's operations are
 * fairseq's `--scale-attn` (postAttnNorm), `--scale-heads` (headScale, placed after out_proj), `--scale-fc`
 * (ffnNorm) and `--scale-resids` (residScale).
 * Legend: V vocabulary, C = dModel, H heads, F = dFF, L layers, T context.
 * @module
 */
import { type ModelConfig, resolveModelConfig } from "../model/config.ts";

/**
 * The fairseq `transformer_lm` arguments that decide the weights' shapes and meaning (snake_case, as in a fairseq
 * checkpoint's `cfg.model`). A real checkpoint holds many more keys; the others are training or hardware options.
 */
export interface FairseqModelArgs {
  /** Model name in fairseq's registry (`--arch`). */
  _name?: string;
  /** C. */
  decoder_embed_dim: number;
  /** F. */
  decoder_ffn_embed_dim: number;
  /** L. */
  decoder_layers: number;
  /** H. */
  decoder_attention_heads: number;
  /**
   * Pre-LN when true, Post-LN when false. fairseq 0.12's `--arch transformer_lm` defaults it to false (its
   * `base_lm_architecture` does not run for that arch), so a Pre-LN model needs `--decoder-normalize-before`.
   */
  decoder_normalize_before: boolean;
  /** Drop the final LayerNorm of a Pre-LN decoder (Post-LN never has one); must be false for Pre-LN. */
  no_decoder_final_norm: boolean;
  /** Width entering the layers; fairseq 0.12 defaults it to 512 (a `project_in_dim` when ≠ C); must be C. */
  decoder_input_dim: number;
  /** Width leaving the layers; fairseq 0.12 defaults it to 512 (a `project_out_dim` when ≠ C); must be C. */
  decoder_output_dim: number;
  /** "gelu" (exact erf) or "relu_squared". */
  activation_fn: string;
  /** Output projection tied to the embedding; must be true. */
  share_decoder_input_output_embed: boolean;
  /** Learned positions instead of sinusoids. */
  decoder_learned_pos: boolean;
  /** NormFormer's post-attention LayerNorm. */
  scale_attn: boolean;
  /** NormFormer's FFN LayerNorm. */
  scale_fc: boolean;
  /** NormFormer's HeadScale (after out_proj). */
  scale_heads: boolean;
  /** NormFormer's residual scaling λ. */
  scale_resids: boolean;
  /** T. */
  max_target_positions: number;
  /** T, as the language_modeling task calls it. */
  tokens_per_sample: number;
  /** Residual dropout. */
  dropout: number;
  /** Dropout on attention probabilities. */
  attention_dropout: number;
  /** Dropout after the FFN activation. */
  activation_dropout: number;
  /** Other keys of a fairseq config (ignored unless they change the math: then an error names them). */
  [key: string]: unknown;
}

/**
 * fairseq arguments that change the network's math but have no counterpart here, with the value that is safe.
 * A key missing from a config counts as its fairseq default, which is the safe value for all of these.
 */
const UNSUPPORTED: [key: string, safe: unknown, what: string][] = [
  ["no_scale_embedding", false, "embeddings not scaled by √C"],
  ["layernorm_embedding", false, "a LayerNorm after the embedding"],
  ["no_token_positional_embeddings", false, "no positional embeddings"],
  ["adaptive_input", false, "adaptive input embeddings"],
  ["adaptive_softmax_cutoff", null, "an adaptive softmax"],
  ["character_embeddings", false, "character embeddings"],
  ["cross_self_attention", false, "cross self-attention"],
  ["base_layers", 0, "BASE layers"],
];

const ACTIVATIONS: Record<string, ModelConfig["activation"]> = { gelu: "gelu", relu_squared: "reluSquared" };

/**
 * The fairseq `transformer_lm` arguments for a model config: Pre-LN and NormFormer have
 * `decoder_normalize_before` true and the final LayerNorm; Post-LN has it false (fairseq then builds no final
 * LayerNorm, as ours has none). Throws for what fairseq cannot express: HeadScale placed before out_proj (fairseq
 * scales after it).
 * @example
 * ```ts
 * import { fairseqModelArgs, resolveModelConfig } from "../../mod.ts";
 * const args = fairseqModelArgs(resolveModelConfig({ arch: "normformer", dModel: 64, heads: 4 }));
 * console.log(args.scale_attn, args.scale_heads, args.scale_fc, args.scale_resids); // true true true false
 * ```
 */
export function fairseqModelArgs(cfg: ModelConfig): FairseqModelArgs {
  if (cfg.headScale && cfg.headScalePlacement !== "postOutProj") {
    throw new Error(
      `Cannot express headScalePlacement "${cfg.headScalePlacement}" in fairseq: --scale-heads multiplies the ` +
        `heads after out_proj ("postOutProj")`,
    );
  }
  const activation = Object.keys(ACTIVATIONS).find((k) => ACTIVATIONS[k] === cfg.activation)!;
  return {
    _name: "transformer_lm",
    decoder_embed_dim: cfg.dModel,
    decoder_input_dim: cfg.dModel,
    decoder_output_dim: cfg.dModel,
    decoder_ffn_embed_dim: cfg.dFF,
    decoder_layers: cfg.layers,
    decoder_attention_heads: cfg.heads,
    decoder_normalize_before: cfg.arch !== "postln",
    no_decoder_final_norm: false,
    activation_fn: activation,
    share_decoder_input_output_embed: true,
    decoder_learned_pos: cfg.positions === "learned",
    no_token_positional_embeddings: false,
    no_scale_embedding: false,
    layernorm_embedding: false,
    scale_attn: cfg.postAttnNorm,
    scale_fc: cfg.ffnNorm,
    scale_heads: cfg.headScale,
    scale_resids: cfg.residScale,
    max_target_positions: cfg.contextLength,
    tokens_per_sample: cfg.contextLength,
    dropout: cfg.dropout,
    attention_dropout: cfg.attentionDropout,
    activation_dropout: cfg.activationDropout,
  };
}

/**
 * Whether fairseq builds the model Pre-LN. A checkpoint's `cfg.model` always holds `decoder_normalize_before`;
 * when absent, fairseq 0.12's `transformer_lm` default is false, and the named archs (`transformer_lm_gpt`, …)
 * run `base_lm_architecture`, whose default is true.
 */
function normalizeBefore(args: Record<string, unknown>): boolean {
  const v = args.decoder_normalize_before;
  if (v === undefined || v === null) {
    const name = String(args._name ?? args.arch ?? "transformer_lm");
    return name !== "transformer_lm";
  }
  if (typeof v !== "boolean") {
    throw new Error(
      `Cannot read fairseq config: decoder_normalize_before is ${JSON.stringify(v)}, expected true or false`,
    );
  }
  return v;
}

function num(args: Record<string, unknown>, key: string): number {
  const v = args[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new Error(`Cannot read fairseq config: ${key} is ${JSON.stringify(v)}, expected an integer ≥ 1`);
  }
  return v;
}

function flag(args: Record<string, unknown>, key: string): boolean {
  const v = args[key] ?? false;
  if (typeof v !== "boolean") {
    throw new Error(`Cannot read fairseq config: ${key} is ${JSON.stringify(v)}, expected true or false`);
  }
  return v;
}

/**
 * Our model config for fairseq `transformer_lm` arguments (`cfg.model` of a fairseq checkpoint) and the
 * vocabulary size (the rows of `decoder.embed_tokens.weight`; fairseq takes it from its dictionary). Throws naming
 * the key for an argument that changes the math in a way this model does not have.
 * @example
 * ```ts
 * import { modelConfigFromFairseq } from "../../mod.ts";
 * const cfg = modelConfigFromFairseq({
 *   decoder_embed_dim: 64, decoder_ffn_embed_dim: 256, decoder_layers: 2, decoder_attention_heads: 4, decoder_normalize_before: true,
 *   activation_fn: "gelu", share_decoder_input_output_embed: true, scale_attn: true, scale_fc: true,
 *   scale_heads: true, tokens_per_sample: 128,
 * }, 256);
 * console.log(cfg.arch, cfg.headScalePlacement); // normformer postOutProj
 * ```
 */
export function modelConfigFromFairseq(args: Record<string, unknown>, vocabSize: number): ModelConfig {
  for (const [key, safe, what] of UNSUPPORTED) {
    const v = args[key];
    if (v !== undefined && v !== safe) {
      throw new Error(
        `Cannot read fairseq config: ${key} is ${JSON.stringify(v)} (${what}), which this model does not have`,
      );
    }
  }
  const dModel = num(args, "decoder_embed_dim");
  for (const key of ["decoder_input_dim", "decoder_output_dim"]) {
    if (args[key] !== undefined && args[key] !== dModel) {
      throw new Error(
        `Cannot read fairseq config: ${key} is ${JSON.stringify(args[key])}, expected decoder_embed_dim ${dModel}`,
      );
    }
  }
  if (args.share_decoder_input_output_embed !== true) {
    throw new Error(
      `Cannot read fairseq config: share_decoder_input_output_embed is ${
        JSON.stringify(args.share_decoder_input_output_embed)
      }, expected true (this model ties its output projection to the embedding)`,
    );
  }
  const activation = ACTIVATIONS[String(args.activation_fn)];
  if (!activation) {
    throw new Error(
      `Cannot read fairseq config: activation_fn is ${
        JSON.stringify(args.activation_fn)
      }, expected "gelu" or "relu_squared" (fairseq's transformer_lm default is "relu")`,
    );
  }
  const preLN = normalizeBefore(args);
  if (preLN && flag(args, "no_decoder_final_norm")) {
    throw new Error(
      "Cannot read fairseq config: no_decoder_final_norm is true (Pre-LN without the final LayerNorm), which this " +
        "model does not have",
    );
  }
  const postAttnNorm = flag(args, "scale_attn"), headScale = flag(args, "scale_heads");
  const ffnNorm = flag(args, "scale_fc"), residScale = flag(args, "scale_resids");
  const nf = postAttnNorm && headScale && ffnNorm;
  const contextKey = ["max_target_positions", "tokens_per_sample"].find((k) =>
    args[k] !== undefined && args[k] !== null
  );
  const context = contextKey ? num(args, contextKey) : 1024; // fairseq's default T
  const rate = (key: string, fallback: number) => {
    const v = args[key] ?? fallback;
    if (typeof v !== "number" || !(v >= 0 && v < 1)) {
      throw new Error(`Cannot read fairseq config: ${key} is ${JSON.stringify(v)}, expected 0 ≤ p < 1`);
    }
    return v;
  };
  return resolveModelConfig({
    vocabSize,
    dModel,
    heads: num(args, "decoder_attention_heads"),
    dFF: num(args, "decoder_ffn_embed_dim"),
    layers: num(args, "decoder_layers"),
    contextLength: context,
    arch: !preLN ? "postln" : nf ? "normformer" : "preln",
    postAttnNorm,
    headScale,
    headScalePlacement: "postOutProj",
    ffnNorm,
    residScale,
    activation,
    positions: flag(args, "decoder_learned_pos") ? "learned" : "sinusoidal",
    dropout: rate("dropout", 0.1),
    attentionDropout: rate("attention_dropout", 0),
    activationDropout: rate("activation_dropout", 0),
  });
}
