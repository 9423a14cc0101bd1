/**
 * Analytic parameter counts and training FLOPs of a NormFormer-family model (nanoGPT's sizing idea): tests check
 * both against the built model and against the matrix products actually dispatched.
 * Legend: V vocabulary, C width, H heads, F FFN width, L layers, T tokens in the sequence.
 * @module
 */
import type { ModelConfig } from "./config.ts";

/** Parameters by group, and the total. */
export interface ParamCount {
  /** Token embedding V·C (plus learned positions T·C). */
  embedding: number;
  /** Parameters of one decoder layer, NormFormer's additions included. */
  perLayer: number;
  /** NormFormer's additions per layer: 2C (post-attn LN) + 2F (FFN LN) + H (HeadScale) + C (ResScale). */
  extraPerLayer: number;
  /** The final LayerNorm's 2C (Pre-LN variants), else 0. */
  finalNorm: number;
  /** Everything, the tied output projection counted once. */
  total: number;
}

/** Count parameters analytically (tied output embedding counted once). */
export function paramCount(cfg: ModelConfig): ParamCount {
  const { vocabSize: v, dModel: c, dFF: f, heads: h, layers: l } = cfg;
  const embedding = v * c + (cfg.positions === "learned" ? cfg.contextLength * c : 0);
  const extraPerLayer = (cfg.postAttnNorm ? 2 * c : 0) + (cfg.ffnNorm ? 2 * f : 0) + (cfg.headScale ? h : 0) +
    (cfg.residScale ? c : 0);
  const base = 4 * (c * c + c) + 2 * c + (c * f + f) + (f * c + c) + 2 * c; // attention, LN_a, fc1, fc2, LN_f
  const finalNorm = cfg.arch === "postln" ? 0 : 2 * c;
  const perLayer = base + extraPerLayer;
  return { embedding, perLayer, extraPerLayer, finalNorm, total: embedding + l * perLayer + finalNorm };
}

/**
 * Matrix-product FLOPs of one training step per token at sequence length T: 3× the forward (forward, plus the
 * input and weight gradients), forward = 2·(L·(4C² + 2CF) + CV) for the weights and 2·L·2·T·C for
 * attention scores and values (full T×T products, as computed; causal masking does not skip work).
 * Elementwise ops, norms and softmax are not counted, as is usual (Kaplan et al. 2020).
 */
export function trainingFlopsPerToken(cfg: ModelConfig, seqLen: number = cfg.contextLength): number {
  const { vocabSize: v, dModel: c, dFF: f, layers: l } = cfg;
  const forward = 2 * (l * (4 * c * c + 2 * c * f) + c * v) + 2 * l * 2 * seqLen * c;
  return 3 * forward;
}
