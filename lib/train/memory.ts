/**
 * What a training run needs in memory, estimated before it starts (float32, the CPU backend's host memory): the
 * weights and their gradients, AdamW's two moments, the activations the backward pass keeps, and an evaluation
 * batch. The activation term counts the tensors a training forward keeps (tests/model/model_test.ts checks the
 * count): per layer and token 9 widths C (LayerNorm outputs, q, k, v and the merged heads in head layout, out_proj's
 * output, two residual sums), 3 widths F (fc1, GELU, FFN-LN), the attention probabilities (H·T, twice with
 * attention dropout) and 8 LayerNorm statistics; plus backward's largest transients, the gradients of one layer's
 * probabilities and scores (2 H·T), and the logits with their gradient (3 V).
 * @module
 */
import { paramCount } from "../model/sizing.ts";
import type { TrainConfig } from "./config.ts";

/** Bytes each part needs, and their sum at the peak (training and evaluation do not overlap). */
export interface MemoryEstimate {
  /** Weights and gradients. */
  parameters: number;
  /** AdamW's first and second moments. */
  optimizer: number;
  /** Activations kept for one backward pass of `batchSize` sequences. */
  activations: number;
  /** One evaluation batch (no graph). */
  eval: number;
  /** parameters + optimizer + max(activations, eval) + the runtime's own ~120 MiB. */
  total: number;
}

// Calibrated on this machine against peak RSS (2026-12-03): `deno task train --preset=small` (batchSize 16) peaks
// at 415 MiB (estimated 399), its bench/profile_memory.ts step at 186 MiB of live tensors, 172 of them activations
// (counted 164): the count ×1.1 for the heap's fragmentation and the small tensors it leaves out, and ~200 MiB for
// Deno, the CLI and the data.
const RUNTIME = 200 * 2 ** 20, POOL = 1.1;

/**
 * Estimate the memory of a run of `cfg`.
 * @example
 * ```ts
 * import { estimateMemory } from "./memory.ts";
 * import { resolveConfig } from "./config.ts";
 * const m = estimateMemory(resolveConfig([{ preset: "paper125m" }]));
 * console.log(m.activations > 2 ** 40); // true: over 1 TiB at batchSize 256, so updateFreq it is
 * ```
 */
export function estimateMemory(cfg: TrainConfig): MemoryEstimate {
  const P = paramCount(cfg).total;
  const probs = cfg.heads * cfg.contextLength; // attention probabilities per token
  const kept = (probsKept: number) => cfg.layers * (9 * cfg.dModel + 3 * cfg.dFF + probsKept * probs + 8);
  const tokens = cfg.batchSize * cfg.contextLength;
  const parameters = 8 * P, optimizer = 8 * P;
  const activations = POOL * 4 * tokens * (kept(cfg.attentionDropout > 0 ? 2 : 1) + 2 * probs + 3 * cfg.vocabSize);
  // Evaluation frees nothing before its scope closes either (no dropout, no backward).
  const evalBytes = POOL * 4 * tokens * (kept(1) + 2 * cfg.vocabSize);
  return {
    parameters,
    optimizer,
    activations,
    eval: evalBytes,
    total: parameters + optimizer + Math.max(activations, evalBytes) + RUNTIME,
  };
}

/**
 * Bytes this process may still allocate: the system's available memory, capped by a cgroup (v2) limit when one is
 * set; null when neither can be read.
 */
export function availableMemory(): number | null {
  let avail: number | null = null;
  try {
    avail = Deno.systemMemoryInfo().available;
  } catch { /* no --allow-sys */ }
  try {
    const max = Deno.readTextFileSync("/sys/fs/cgroup/memory.max").trim();
    if (max !== "max") {
      const used = Number(Deno.readTextFileSync("/sys/fs/cgroup/memory.current").trim());
      const left = Number(max) - used;
      if (Number.isFinite(left)) avail = avail === null ? left : Math.min(avail, left);
    }
  } catch { /* no cgroup v2 limit, or no --allow-read */ }
  return avail;
}

/** Format bytes as `512 MiB` or `3.1 GiB`. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 40) return `${(n / 2 ** 40).toFixed(1)} TiB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.max(1, Math.round(n / 2 ** 20))} MiB`;
}

/**
 * The one-line refusal when `cfg` does not fit in `available` bytes, or null when it fits. It names the keys to
 * change, and when the model alone fits, the largest batchSize that does with the updateFreq that keeps the
 * sequences per update.
 */
export function memoryRefusal(cfg: TrainConfig, available: number): string | null {
  const m = estimateMemory(cfg);
  if (m.total <= available) return null;
  const parts = `parameters ${formatBytes(m.parameters)}, optimizer ${formatBytes(m.optimizer)}, activations ${
    formatBytes(m.activations)
  }, eval ${formatBytes(m.eval)}`;
  const head = `Run needs about ${formatBytes(m.total)} (${parts}), ${formatBytes(available)} available`;
  const perSeq = Math.max(m.activations, m.eval) / cfg.batchSize;
  const fixed = m.parameters + m.optimizer + RUNTIME;
  const fits = Math.floor((available - fixed) / perSeq);
  const perUpdate = cfg.batchSize * (cfg.updateFreq ?? 1);
  if (fits >= 1) {
    let b = Math.min(fits, perUpdate);
    while (perUpdate % b !== 0) b--; // a divisor, so the sequences per update stay the same
    return `${head}: lower batchSize, e.g. --batchSize=${b} --updateFreq=${perUpdate / b} (the same ${perUpdate} ` +
      `sequences per update), or contextLength, dModel, dFF, layers`;
  }
  return `${head}: the model does not fit even at batchSize 1; lower contextLength, dModel, dFF, layers or vocabSize`;
}
