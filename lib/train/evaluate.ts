/**
 * Evaluation: mean cross-entropy over a fixed set of batches with dropout off and no graph.
 * @module
 */
import type { NormFormerLM } from "../model/normformer.ts";
import type { Batch } from "../data/sampler.ts";
import { tensor } from "../core/create.ts";
import { noGrad, tidyAsync } from "../core/runtime.ts";

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** After each batch: batches and tokens done so far (for a progress line on long evaluations). */
  onBatch?: (done: { batches: number; tokens: number }) => void;
}

/** Mean loss (nats per token) and token count over the batches. */
export async function evaluate(
  model: NormFormerLM,
  batches: Iterable<Batch>,
  opts: EvaluateOptions = {},
): Promise<{ loss: number; tokens: number }> {
  const wasTraining = model.training;
  model.eval();
  let sum = 0, tokens = 0, done = 0;
  try {
    for (const b of batches) {
      const n = b.inputs.length;
      const loss = await tidyAsync(() =>
        noGrad(() => {
          const shape = [n / b.contextLength, b.contextLength];
          const ids = tensor(b.inputs, { shape, dtype: "i32" });
          const targets = tensor(b.targets, { shape, dtype: "i32" });
          return model.loss(ids, targets).item();
        })
      );
      sum += loss * n;
      tokens += n;
      opts.onBatch?.({ batches: ++done, tokens });
    }
  } finally {
    model.train(wasTraining);
  }
  if (tokens === 0) throw new Error("Cannot evaluate on an empty set: the split has fewer tokens than one context");
  return { loss: sum / tokens, tokens };
}
