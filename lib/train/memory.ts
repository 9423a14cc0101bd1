/**
 * What a training run needs in memory, estimated before it starts (float32, the CPU backend's host memory): the
 * weights and their gradients, AdamW's two moments, the activations the backward pass keeps, and an evaluation
 * batch. The activation term follows the model's saved tensors: per layer and token about 16 widths C (LayerNorm
 * inputs and outputs, q, k, v and their head layouts, the attention output, residuals), 4 widths F (fc1, GELU,
 * FFN-LN) and the attention probabilities (H·T), plus the logits and their gradients (3 V) per token.
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

// Calibrated on this machine against peak RSS (small preset: 525 MiB at batchSize 16, 1.62 GiB at 64; estimated 532
// MiB and 1.67 GiB): the saved tensors ×1.6 for backward's transient gradients and the buffer pool, and ~120 MiB
// for Deno and the data.
const RUNTIME = 120 * 2 ** 20, POOL = 1.6;

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
  const perToken = (layersKept: number) =>
    layersKept * (16 * cfg.dModel + 4 * cfg.dFF + 2 * cfg.heads * cfg.contextLength) + 3 * cfg.vocabSize;
  const tokens = cfg.batchSize * cfg.contextLength;
  const parameters = 8 * P, optimizer = 8 * P;
  const activations = POOL * 4 * tokens * perToken(cfg.layers);
  const evalBytes = POOL * 4 * tokens * perToken(1);
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
