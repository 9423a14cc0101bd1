/**
 * Putting a loaded checkpoint to use: checking that it fits the run's config (`checkResumable`) and copying its
 * weights and optimizer moments into a model and an optimizer (`restoreCheckpoint`), with errors that name the
 * checkpoint and the file.
 * @module
 */
import type { TrainConfig } from "./config.ts";
import type { DecodedTensor } from "./safetensors.ts";
import { type Checkpoint, CheckpointError } from "./checkpoint_state.ts";

/** What `restoreCheckpoint` writes weights into (a `Module`). */
export interface WeightTarget {
  /** Copy tensors by name, checking names and shapes (see `Module.loadStateDict`). */
  loadStateDict(tensors: Record<string, DecodedTensor>): void;
}

/** What `restoreCheckpoint` writes optimizer moments into (an `AdamW`). */
export interface MomentTarget {
  /** Copy moments by name, checking names and shapes, and set the update count. */
  loadOptimizerTensors(tensors: Record<string, DecodedTensor>, step: number): void;
}

/**
 * Copy a loaded checkpoint's weights into `model` (built from `ckpt.config`) and, when given, its moments into
 * `optimizer` (whose update count becomes step − skippedSteps). A missing or extra tensor, or a shape that
 * disagrees with the config, is an error naming the checkpoint and the file.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * import { loadCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
 * await nk.init({ backend: "cpu" });
 * const dir = await Deno.makeTempDir();
 * const layers = { corpus: "fixture", layers: 1, dModel: 32, dFF: 64, contextLength: 32, batchSize: 2 };
 * const config = nk.resolveConfig([{ ...layers, steps: 1, warmup: 0, evalEvery: 0 }]);
 * const run = await nk.train({ config, runDir: dir });
 * const ckpt = await loadCheckpoint(`${dir}/checkpoint`);
 * const model = new nk.NormFormerLM(ckpt.config);
 * restoreCheckpoint(ckpt, model);
 * run.model.dispose();
 * run.optimizer.dispose();
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function restoreCheckpoint(ckpt: Checkpoint, model: WeightTarget, optimizer?: MomentTarget): void {
  // "Cannot load weights: …", "Cannot load optimizer state …", "Cannot load optimizer tensor …" → "…".
  const strip = (e: unknown) =>
    (e as Error).message.replace(/^Cannot load (weights: |optimizer (state:? |tensor ))/, "");
  try {
    model.loadStateDict(ckpt.model);
  } catch (e) {
    throw new CheckpointError(`Cannot load checkpoint "${ckpt.dir}": model.safetensors: ${strip(e)}`);
  }
  if (!optimizer) return;
  try {
    optimizer.loadOptimizerTensors(ckpt.optimizer, ckpt.state.step - ckpt.state.skippedSteps);
  } catch (e) {
    throw new CheckpointError(`Cannot load checkpoint "${ckpt.dir}": optimizer.safetensors: ${strip(e)}`);
  }
}

/** The config keys that fix a model's parameters: a run resumes only when they all match. */
const MODEL_KEYS = [
  "arch",
  "vocabSize",
  "dModel",
  "heads",
  "dFF",
  "layers",
  "postAttnNorm",
  "headScale",
  "headScalePlacement",
  "ffnNorm",
  "residScale",
  "activation",
  "positions",
] as const;

/**
 * Check that a checkpoint can resume a run of `cfg`: the same model shape, arch and switches (run fields such as
 * `steps` or `lr` may differ). Throws a `CheckpointError` naming the first key that differs.
 * @example
 * ```ts
 * import { checkResumable, type Checkpoint } from "./checkpoint.ts";
 * import { resolveConfig } from "./config.ts";
 * const ckpt = { config: resolveConfig([{ arch: "preln" }]), dir: "runs/a/checkpoint" } as Checkpoint;
 * try {
 *   checkResumable(ckpt, resolveConfig([{ arch: "normformer" }]));
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot resume from "runs/a/checkpoint": the checkpoint has arch "preln", …
 * }
 * ```
 */
export function checkResumable(ckpt: Checkpoint, cfg: TrainConfig): void {
  for (const key of MODEL_KEYS) {
    if (ckpt.config[key] !== cfg[key]) {
      throw new CheckpointError(
        `Cannot resume from "${ckpt.dir}": the checkpoint has ${key} ${JSON.stringify(ckpt.config[key])}, the config ${
          JSON.stringify(cfg[key])
        }`,
      );
    }
  }
}
