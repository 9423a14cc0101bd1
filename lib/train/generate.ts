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
  /** Softmax temperature τ ≥ 0; 0 is greedy (the most likely id, the lowest on a tie; no draw). */
  temperature: number;
  /** Seeded generator for the draws. */
  rng: Rng;
  /** Each new id as soon as it is drawn (to stream it). */
  onToken?: (id: number) => void;
}

/** Continue `prompt` (token ids) by `tokens` sampled ids; returns only the new ids. */
export async function generate(model: NormFormerLM, prompt: number[], opts: GenerateOptions): Promise<number[]> {
  const { contextLength: t, vocabSize } = model.cfg;
  if (prompt.some((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize)) {
    throw new Error(`Cannot sample from a prompt with ids outside [0, ${vocabSize})`);
  }
  if (!(opts.temperature >= 0 && Number.isFinite(opts.temperature))) {
    throw new Error(`Invalid temperature ${opts.temperature}: expected a finite number ≥ 0 (0 is greedy)`);
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
    let max = -Infinity, argmax = 0;
    for (let j = 0; j < logits.length; j++) if (logits[j] > max) [max, argmax] = [logits[j], j];
    if (opts.temperature === 0) {
      seq.push(argmax);
      out.push(argmax);
      opts.onToken?.(argmax);
      continue;
    }
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
    opts.onToken?.(next);
  }
  return out;
}
