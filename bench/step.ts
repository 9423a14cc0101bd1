/**
 * One training step of a NormFormer-family LM on a given backend, as the benchmarks and the profiler run it:
 * forward, backward and AdamW (β 0.9/0.98, ε 1e-8, wd 0.01) on a fixed random batch, reading the loss back each
 * step as the training loop does (on WebGPU that read also waits for the step's work). With `updateFreq` k > 1 a
 * step is k forward + backward passes of the batch (each loss scaled by 1/k, the gradients summed), then one
 * update, as lib/train/loop.ts accumulates. No gradient norm, no metrics, no data loading: the same work the
 * PyTorch peer's `trainStep` does.
 * Legend: B batch, T time, V vocabulary.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import { tensor } from "../lib/core/create.ts";
import { setBackend, setRng, tidyAsync } from "../lib/core/runtime.ts";
import { Rng } from "../lib/core/rng.ts";
import { NormFormerLM } from "../lib/model/normformer.ts";
import { AdamW } from "../lib/optim/adamw.ts";
import type { TrainConfig } from "../lib/train/config.ts";

/** Where a step is, for a profiler: each is announced as it starts. */
export type Phase = "forward" | "backward" | "optimizer" | "read";

/** A built model, optimizer and batch: `run()` does one step and resolves to its loss. */
export interface TrainStep {
  /** The resolved config the step runs. */
  readonly cfg: TrainConfig;
  /** Tokens per forward/backward pass, B·T (a step runs `updateFreq` of them). */
  readonly tokens: number;
  /** One step (one update); resolves once the loss (the mean over its passes) is on the host. */
  run(): Promise<number>;
  /** Free the model and the optimizer state. */
  dispose(): void;
}

/**
 * Build the model and optimizer of `cfg` on `be` (seeded), and a fixed batch of B×T random ids. `onPhase` hears
 * the start of each part of a step.
 * @example
 * ```ts
 * import { createCpuBackend } from "../lib/backend/cpu/mod.ts";
 * import { resolveConfig } from "../lib/train/config.ts";
 * import { makeTrainStep } from "./step.ts";
 * const step = makeTrainStep(createCpuBackend(), resolveConfig([{ preset: "tiny", layers: 1, batchSize: 2 }]));
 * console.log((await step.run()) > 0); // true
 * step.dispose();
 * ```
 */
export function makeTrainStep(be: Backend, cfg: TrainConfig, onPhase?: (phase: Phase) => void): TrainStep {
  setBackend(be);
  setRng(new Rng(cfg.seed));
  const model = new NormFormerLM(cfg);
  const opt = new AdamW(model.parameters(), {
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
  });
  const shape = [cfg.batchSize, cfg.contextLength];
  const n = shape[0] * shape[1];
  const ids = new Int32Array(n), targets = new Int32Array(n);
  const rng = new Rng(cfg.seed + 1);
  for (let i = 0; i < n; i++) [ids[i], targets[i]] = [rng.nextU32() % cfg.vocabSize, rng.nextU32() % cfg.vocabSize];
  const k = cfg.updateFreq ?? 1;
  const pass = (last: boolean) =>
    tidyAsync(async () => {
      setBackend(be); // creation functions (the batch, the sinusoid table) use the default backend
      onPhase?.("forward");
      const loss = model.loss(
        tensor(ids, { shape, dtype: "i32", backend: be }),
        tensor(targets, { shape, dtype: "i32", backend: be }),
      );
      onPhase?.("backward");
      (k === 1 ? loss : loss.mul(1 / k)).backward();
      if (last) {
        onPhase?.("optimizer");
        opt.step(cfg.lr);
        opt.zeroGrad();
      }
      onPhase?.("read");
      return await loss.item();
    });
  return {
    cfg,
    tokens: n,
    run: async () => {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += await pass(i === k - 1);
      return sum / k;
    },
    dispose() {
      opt.dispose();
      model.dispose();
    },
  };
}
