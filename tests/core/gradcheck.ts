/**
 * Float64 finite-difference gradient checks on the CPU oracle. Inputs are drawn in float64, the output is
 * projected on a fixed random tensor, and each analytic gradient entry is compared with a central difference.
 * @module
 */
import { type CpuBuffer, createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import { noGrad, setBackend, setRng } from "../../lib/core/runtime.ts";
import { Rng } from "../../lib/core/rng.ts";
import { tensor } from "../../lib/core/create.ts";
import type { Tensor } from "../../lib/core/tensor.ts";

/** How to draw one input: a shape and an optional sampler for its values. */
export interface InputSpec {
  shape: number[];
  /** Value for element i (default N(0, 1)). */
  value?: (rng: Rng, i: number) => number;
  /** Integer ids (no gradient). */
  ids?: number[];
}

const data = (t: Tensor) => (t.buffer as CpuBuffer).data;

/** Check d(Σ r ⊙ fn(inputs))/d(inputs) against central differences; throws with the worst entry on failure. */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, specs: InputSpec[], seed = 1, tol = 1e-6): void {
  const backend = createCpuBackend({ float64: true });
  setBackend(backend);
  const rng = new Rng(seed);
  const inputs = specs.map((s) => {
    if (s.ids) return tensor(s.ids, { shape: s.shape, dtype: "i32" });
    const t = tensor(new Float32Array(s.shape.reduce((a, b) => a * b, 1)), { shape: s.shape });
    const d = data(t);
    for (let i = 0; i < d.length; i++) d[i] = s.value ? s.value(rng, i) : rng.normal();
    return t.param();
  });
  const evalOut = () => {
    setRng(new Rng(seed + 7)); // fixed dropout masks across evaluations
    return fn(...inputs);
  };
  const out0 = noGrad(evalOut);
  const proj = tensor(new Float32Array(out0.size), { shape: out0.shape });
  const pd = data(proj);
  for (let i = 0; i < pd.length; i++) pd[i] = rng.normal();
  const loss = () => {
    const out = noGrad(evalOut);
    const o = data(out);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i] * pd[i];
    return s;
  };
  evalOut().mul(proj).sum().backward();
  const h = 1e-6;
  inputs.forEach((x, k) => {
    if (x.dtype === "i32") return;
    if (!x.grad) throw new Error(`Input ${k} got no gradient`);
    const g = data(x.grad), d = data(x);
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      d[i] = v + h;
      const lp = loss();
      d[i] = v - h;
      const lm = loss();
      d[i] = v;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(num - g[i]);
      if (!(err <= tol * (1 + Math.abs(num)))) {
        throw new Error(`Gradient of input ${k} entry ${i}: analytic ${g[i]}, numeric ${num} (error ${err})`);
      }
    }
  });
}
