/**
 * Gradient norm and clipping, computed on the device: no host readback, so a WebGPU step stays one queue of
 * work. `clipGradNorm` follows fairseq's `clip_grad_norm_` (factor min(1, maxNorm/(norm + 1e-6))). The paper's
 * runs do not clip (`--clip-norm 0`, NORMFORMER.md (d)); this is here for experiments that do.
 * @module
 */
import { full } from "../core/create.ts";
import { keep, noGrad, tidy } from "../core/runtime.ts";
import type { Tensor } from "../core/tensor.ts";

/**
 * The global L2 norm of the gradients of `params`, √Σ g², as a scalar tensor (shape []) on the parameters'
 * backend. Parameters without a gradient are skipped; with none at all the norm is 0. A non-finite gradient
 * gives a non-finite norm.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * import { gradNorm } from "./clip.ts";
 * await nk.init({ backend: "cpu" });
 * const w = nk.tensor([3, 4]).param("w");
 * w.grad = nk.keep(nk.tensor([3, 4]));
 * console.log(await gradNorm([w]).item()); // 5
 * ```
 */
export function gradNorm(params: readonly Tensor[]): Tensor {
  return tidy(() =>
    noGrad(() => {
      let total: Tensor | null = null;
      for (const p of params) {
        if (!p.grad) continue;
        const sq = p.grad.mul(p.grad).sum(); // (), summed in one reduce per parameter
        total = total ? total.add(sq) : sq;
      }
      return total ? total.sqrt() : full([], 0, { backend: params[0]?.backend });
    })
  );
}

/**
 * Scale every gradient in place by min(1, maxNorm/(norm + 1e-6)) and return the norm before clipping (shape []).
 * Each scaled gradient replaces the old one, which is disposed; below the threshold the factor is exactly 1. With a
 * non-finite norm the gradients become garbage (NaN, or 0 for an infinite norm), as in fairseq: check the returned
 * norm to skip such a step.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * import { clipGradNorm } from "./clip.ts";
 * await nk.init({ backend: "cpu" });
 * const w = nk.tensor([3, 4]).param("w");
 * w.grad = nk.keep(nk.tensor([3, 4]));
 * const norm = clipGradNorm([w], 1);
 * console.log(await norm.item(), await w.grad!.toArray()); // 5, ≈ Float32Array [0.6, 0.8]
 * ```
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  if (typeof maxNorm !== "number" || !(maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new Error(`Invalid maxNorm ${JSON.stringify(maxNorm)}: expected a finite number > 0 (skip the call for 0)`);
  }
  const norm = gradNorm(params);
  tidy(() =>
    noGrad(() => {
      // maxNorm / max(norm + 1e-6, maxNorm) = min(1, maxNorm / (norm + 1e-6)), and exactly 1 when not clipping.
      const factor = full([], maxNorm, { backend: norm.backend }).div(norm.add(1e-6).maximum(maxNorm));
      for (const p of params) {
        if (!p.grad) continue;
        const scaled = keep(p.grad.mul(factor));
        p.grad.dispose();
        p.grad = scaled;
      }
    })
  );
  return norm;
}
