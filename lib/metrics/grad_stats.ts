/**
 * Per-parameter gradient norms for the gradient-mismatch analysis (paper Fig. 3 uses the L1 norm of each layer's
 * fc2 weight gradient): every Σ|g| and Σg² is reduced on the device and read back in one transfer.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { noGrad } from "../core/runtime.ts";
import { concat } from "../core/ops_shape.ts";
import { abs } from "../core/ops_elementwise.ts";
import { tidyAsync } from "../core/runtime.ts";

/** [Σ|g|, ‖g‖₂] per named parameter with a gradient. */
export function gradNorms(named: [string, Tensor][]): Promise<Record<string, [number, number]>> {
  const withGrad = named.filter(([, p]) => p.grad);
  if (withGrad.length === 0) return Promise.resolve({});
  return tidyAsync(async () => {
    const stats = noGrad(() =>
      concat(withGrad.flatMap(([, p]) => [abs(p.grad!).sum().reshape([1]), p.grad!.mul(p.grad!).sum().reshape([1])]), 0)
    );
    const host = await stats.toArray();
    return Object.fromEntries(
      withGrad.map(([n], i) => [n, [host[2 * i], Math.sqrt(host[2 * i + 1])] as [number, number]]),
    );
  });
}
