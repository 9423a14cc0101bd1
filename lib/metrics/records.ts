/**
 * The records a run writes, one JSON object per line of `runs/<name>/metrics.jsonl`. Plain data: analyses and
 * plots read them with no model and no device.
 * @module
 */

/** Summary of one learned-scale vector (a LayerNorm gain, HeadScale γ or ResScale λ). */
export interface ScaleSummary {
  /** Smallest element. */
  min: number;
  /** First quartile. */
  q1: number;
  /** Median. */
  median: number;
  /** Third quartile. */
  q3: number;
  /** Largest element. */
  max: number;
  /** Mean. */
  mean: number;
}

/** One optimizer step. */
export interface TrainRecord {
  /** Record type tag. */
  kind: "train";
  /** 1-based update index. */
  step: number;
  /** Training tokens consumed so far. */
  tokens: number;
  /** Cumulative training FLOPs (matrix products, analytic). */
  flops: number;
  /** Seconds of training so far (excluding evaluation). */
  time: number;
  /** Learning rate used for this step. */
  lr: number;
  /** Mean cross-entropy (nats per token) before the update. */
  loss: number;
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
  /** Whether a non-finite step was skipped instead of applied. */
  skipped?: boolean;
  /** Per-parameter gradient norms by fairseq name: [Σ|g|, ‖g‖₂] (when gradStats is on). */
  grads?: Record<string, [number, number]>;
  /** Max |q·k/√Dh| per layer (when gradStats is on). */
  attnLogitMax?: number[];
  /** Per-layer RMS values every `actStatsEvery` steps (with gradStats), to decompose the fc2 gradient ratio. */
  activations?: ActivationStats;
}

/** Per-layer RMS values of one step (arrays of length L). */
export interface ActivationStats {
  /** RMS of fc2's input (after the activation and LN_ffn). */
  fc2In: number[];
  /** RMS of ∂loss/∂(fc2 output). */
  fc2OutGrad: number[];
  /** RMS of what the attention sublayer adds to the residual stream. */
  attnOut: number[];
  /** RMS of the residual stream leaving the layer. */
  stream: number[];
}

/** One evaluation. */
export interface EvalRecord {
  /** Record type tag. */
  kind: "eval";
  /** Updates done when evaluated. */
  step: number;
  /** Training tokens consumed so far. */
  tokens: number;
  /** Cumulative training FLOPs so far. */
  flops: number;
  /** Seconds of training so far. */
  time: number;
  /** Which split was evaluated. */
  split: "valid" | "test";
  /** Mean cross-entropy, nats per token. */
  loss: number;
  /** exp(loss). */
  ppl: number;
  /** Bits per byte of text (tokenizer-independent). */
  bpb: number;
  /** Learned scales per parameter name (NormFormer runs). */
  scales?: Record<string, ScaleSummary>;
}

/** Any metrics line. */
export type RunRecord = TrainRecord | EvalRecord;

/** Quartiles, extremes and mean of values (linear interpolation, as numpy's default). */
export function summarize(values: ArrayLike<number>): ScaleSummary {
  const v = Array.from(values).sort((a, b) => a - b);
  if (v.length === 0) throw new Error("Cannot summarize an empty vector");
  const q = (p: number) => {
    const x = p * (v.length - 1), i = Math.floor(x), f = x - i;
    return i + 1 < v.length ? v[i] * (1 - f) + v[i + 1] * f : v[i];
  };
  return {
    min: v[0],
    q1: q(0.25),
    median: q(0.5),
    q3: q(0.75),
    max: v[v.length - 1],
    mean: v.reduce((s, x) => s + x, 0) / v.length,
  };
}

/** Parse metrics.jsonl text; a malformed line is an error naming its number. */
export function parseRecords(text: string): RunRecord[] {
  const out: RunRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new Error(`Cannot parse metrics line ${i + 1}: ${line.slice(0, 60)}`);
    }
  });
  return out;
}
