/**
 * What a checkpoint folder holds besides its tensors, and how state.json is checked: the run state, the loaded
 * checkpoint's shape, the format version, and the error every checkpoint problem raises.
 * @module
 */
import type { RngState } from "../core/rng.ts";
import type { TrainConfig } from "./config.ts";
import type { DecodedTensor } from "./safetensors.ts";
import type { CheckpointFile } from "./checkpoint_manifest.ts";

/**
 * A checkpoint that cannot be used: missing, corrupted, from another model, or inconsistent with its run folder.
 * The message names the folder and the file. The CLI treats it as bad input (exit code 2).
 */
export class CheckpointError extends Error {
  /** "CheckpointError", so callers can tell a bad checkpoint from a failure of the run itself. */
  override name = "CheckpointError";
}

/**
 * Format version written into state.json. 2: every file is covered by `manifest.sha256` (format 1 kept the
 * tensor files' SHA-256 in state.json and left state.json and config.json unprotected; it is refused).
 */
export const CHECKPOINT_FORMAT = 2;

/** Where a run stands: everything needed to continue bit-for-bit. */
export interface RunState {
  /** Updates done. */
  step: number;
  /** Training tokens consumed. */
  tokens: number;
  /** Cumulative training FLOPs. */
  flops: number;
  /** Training seconds so far. */
  time: number;
  /** Generator state (dropout seeds). */
  rng: RngState;
  /** Batch sampler state. */
  sampler: unknown;
  /** Lines of metrics.jsonl that belong to steps ≤ step (the rest is dropped on resume). */
  metricsLines: number;
  /** Steps skipped for non-finite loss or gradients. */
  skippedSteps: number;
}

/** What state.json holds. */
export interface StateFile extends RunState {
  /** `CHECKPOINT_FORMAT` of the writer. */
  format: number;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  /** The config saved with it, checked and resolved by `resolveConfig`. */
  config: TrainConfig;
  /** Parameters by fairseq name. */
  model: Record<string, DecodedTensor>;
  /** Optimizer moments by name. */
  optimizer: Record<string, DecodedTensor>;
  /** Run state. */
  state: StateFile;
  /** The folder actually read (the previous one if a swap was interrupted). */
  dir: string;
  /** The SHA-256 of each file, as `manifest.sha256` lists them (and the files were checked to have). */
  manifest: Record<CheckpointFile, string>;
}

/** Check state.json's fields, throwing `fail(message)` (the sampler state is checked by the sampler when a run resumes). */
export function checkStateFile(state: StateFile, fail: (msg: string) => Error): void {
  if (state.format !== CHECKPOINT_FORMAT) {
    throw fail(`format is ${JSON.stringify(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  }
  for (const key of ["step", "tokens", "flops", "time", "metricsLines", "skippedSteps"] as const) {
    const v = state[key];
    const integer = key !== "flops" && key !== "time";
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
      throw fail(`${key} is ${JSON.stringify(v)}, expected ${integer ? "an integer" : "a finite number"} ≥ 0`);
    }
  }
  if (state.skippedSteps > state.step) {
    throw fail(`skippedSteps ${state.skippedSteps} exceeds step ${state.step}`);
  }
  const rng = state.rng as unknown;
  if (!Array.isArray(rng) || rng.length !== 4 || rng.some((w) => !Number.isInteger(w) || w < 0 || w >= 2 ** 32)) {
    throw fail(`rng is ${JSON.stringify(rng)}, expected four u32 words`);
  }
  if (state.sampler !== null && (typeof state.sampler !== "object" || Array.isArray(state.sampler))) {
    throw fail(`sampler is ${JSON.stringify(state.sampler)}, expected an object or null`);
  }
  const known = new Set([
    "format",
    "step",
    "tokens",
    "flops",
    "time",
    "rng",
    "sampler",
    "metricsLines",
    "skippedSteps",
  ]);
  const extra = Object.keys(state).find((k) => !known.has(k));
  if (extra !== undefined) throw fail(`has an unknown field "${extra}"`);
}
