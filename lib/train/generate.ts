/**
 * Autoregressive sampling: the model reads the last T tokens and the next id is drawn from softmax(logits / τ).
 * No key/value cache: each token recomputes the window (fine for the small models this kit trains on a CPU).
 * @module
 */
import type { NormFormerLM } from "../model/normformer.ts";
import type { Rng } from "../core/rng.ts";
import { tensor } from "../core/create.ts";
import { noGrad, tidyAsync } from "../core/runtime.ts";

/** Options of `generate`. */
export interface GenerateOptions {
  /** How many tokens to add. */
  tokens: number;
  /** Softmax temperature τ > 0. */
  temperature: number;
  /** Seeded generator for the draws. */
  rng: Rng;
}

/** Continue `prompt` (token ids) by `tokens` sampled ids; returns only the new ids. */
export async function generate(model: NormFormerLM, prompt: number[], opts: GenerateOptions): Promise<number[]> {
  const { contextLength: t, vocabSize } = model.cfg;
  if (prompt.some((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize)) {
    throw new Error(`Cannot sample from a prompt with ids outside [0, ${vocabSize})`);
  }
  const seq = prompt.length ? [...prompt] : [0];
  const out: number[] = [];
  model.eval();
  for (let i = 0; i < opts.tokens; i++) {
    const window = seq.slice(-t);
    const logits = await tidyAsync(() =>
      noGrad(() =>
        model.forward(tensor([window], { dtype: "i32" })).slice(1, window.length - 1, window.length).toArray()
      )
    );
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    const p = Array.from(logits, (v) => Math.exp((v - max) / opts.temperature));
    let u = opts.rng.uniform() * p.reduce((a, b) => a + b, 0);
    let next = p.length - 1;
    for (let j = 0; j < p.length; j++) {
      u -= p[j];
      if (u <= 0) {
        next = j;
        break;
      }
    }
    seq.push(next);
    out.push(next);
  }
  return out;
}
