/**
 * Learned-scale summaries for paper Fig. 4: per layer, the FFN-LN gains, post-attention-LN gains, HeadScale γ
 * and ResScale λ, as quartiles over the entries of each vector.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { type ScaleSummary, summarize } from "./records.ts";

/** The parameters NormFormer learns as scales, by the end of their fairseq name. */
export const SCALE_SUFFIXES = ["ffn_layernorm.weight", "attn_ln.weight", "c_attn", "w_resid"] as const;

/** Summaries of every learned-scale parameter, keyed by fairseq name. */
export async function learnedScales(named: [string, Tensor][]): Promise<Record<string, ScaleSummary>> {
  const out: Record<string, ScaleSummary> = {};
  for (const [name, p] of named) {
    if (SCALE_SUFFIXES.some((s) => name.endsWith(s))) out[name] = summarize(await p.toArray());
  }
  return out;
}
