/**
 * AdamW as fairseq's `Adam` runs it (fairseq/optim/adam.py; NORMFORMER.md (d) [F10]): PyTorch's Adam moments with
 * bias correction folded into the step size, and *decoupled* weight decay `p −= lr·wd·p` applied to every
 * parameter (fairseq builds a single parameter group [F11]) unless `noDecay` excludes it. The update of each
 * parameter is one dispatch of the backend's in-place `adamw` op: no host round trip, no temporary tensors.
 * @module
 */
import { zeros } from "../core/create.ts";
import { keep } from "../core/runtime.ts";
import { fmtShape, type Tensor } from "../core/tensor.ts";

/** Options of `AdamW`; the defaults are the paper's (Adam β = (0.9, 0.98), ε = 1e-8, weight decay 0.01). */
export interface AdamWOptions {
  /** Learning rate used when `step()` is called without one (usually the schedule passes it each step). */
  lr?: number;
  /** Decay of the first moment (default 0.9). */
  beta1?: number;
  /** Decay of the second moment (default 0.98). */
  beta2?: number;
  /** Added to √v in the denominator (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay factor (default 0.01; fairseq applies it to every parameter). */
  weightDecay?: number;
  /** Parameters for which this returns true get no weight decay (e.g. norm gains and learned scales). */
  noDecay?: (p: Tensor) => boolean;
}

/** The optimizer's state: the update count and the live moment tensors, in parameter order. */
export interface AdamWState {
  /** Updates done so far (Adam's t; the next update uses t + 1 in the bias correction). */
  step: number;
  /** First moments (fairseq/PyTorch `exp_avg`). */
  m: Tensor[];
  /** Second moments (fairseq/PyTorch `exp_avg_sq`). */
  v: Tensor[];
}

/**
 * Moment data to load: a tensor (copied on device), host values, or a decoded safetensors entry (`{ shape, data }`,
 * as `loadCheckpoint` returns); host data is written to the device.
 */
export type MomentData = Tensor | Float32Array | { shape: readonly number[]; data: Float32Array | Int32Array };

const NORM_OR_SCALE = /(?:layer_norm|layernorm|attn_ln)\.(?:weight|bias)$|(?:^|\.)(?:c_attn|w_resid)$/;

/**
 * A `noDecay` predicate for the paper's sensitivity check (NORMFORMER.md (e) experiment 3): true for LayerNorm
 * gains and biases and the learned scales, by their fairseq names (`…self_attn_layer_norm.weight`, `…attn_ln.bias`,
 * `…ffn_layernorm.weight`, `…final_layer_norm.bias`, `decoder.layer_norm.weight`, `…c_attn`, `…w_resid`).
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * import { isNormOrScale } from "./adamw.ts";
 * await nk.init({ backend: "cpu" });
 * console.log(isNormOrScale(nk.ones([4]).param("decoder.layers.0.ffn_layernorm.weight"))); // true
 * console.log(isNormOrScale(nk.ones([4]).param("decoder.layers.0.fc1.bias"))); // false
 * ```
 */
export function isNormOrScale(p: Tensor): boolean {
  return NORM_OR_SCALE.test(p.name);
}

function checkHyper(name: string, value: number, ok: boolean, expected: string): void {
  if (typeof value !== "number" || !ok) {
    throw new Error(`Invalid AdamW ${name} ${JSON.stringify(value)}: expected ${expected}`);
  }
}

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) {
    throw new Error(`Invalid AdamW step ${JSON.stringify(step)}: expected an integer ≥ 0`);
  }
}

/**
 * fairseq's Adam with decoupled weight decay. Per parameter with a gradient, at update t:
 * `p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·√(1−β2^t)/(1−β1^t) · m/(√v + ε)`.
 * Parameters whose `.grad` is null are skipped (no decay, moments unchanged); t is shared by all parameters,
 * unlike PyTorch's per-parameter count, which only differs when a parameter misses a gradient.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * import { AdamW } from "./adamw.ts";
 * await nk.init({ backend: "cpu" });
 * const w = nk.tensor([1, -2, 3]).param("w");
 * const opt = new AdamW([w], { weightDecay: 0 });
 * nk.tidy(() => w.mul(w).sum().backward());
 * opt.step(0.1); // the first Adam step moves each weight by ≈ lr against its gradient's sign
 * opt.zeroGrad();
 * console.log(await w.toArray()); // ≈ Float32Array [0.9, -1.9, 2.9]
 * ```
 */
export class AdamW {
  /** The parameters, in the order of the state arrays. */
  readonly params: readonly Tensor[];
  /** Learning rate used by `step()` without an argument. */
  lr: number | undefined;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator epsilon. */
  readonly eps: number;
  /** Decoupled weight decay factor. */
  readonly weightDecay: number;
  /** The weight decay each parameter gets (0 where `noDecay` excluded it), in parameter order. */
  readonly decays: readonly number[];
  #m: Tensor[];
  #v: Tensor[];
  #step = 0;

  /** Create zeroed moments (kept alive outside any `tidy`) for each parameter. */
  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    const { lr, beta1 = 0.9, beta2 = 0.98, eps = 1e-8, weightDecay = 0.01, noDecay } = opts;
    if (lr !== undefined) checkHyper("lr", lr, lr >= 0 && Number.isFinite(lr), "a finite number ≥ 0");
    checkHyper("beta1", beta1, beta1 >= 0 && beta1 < 1, "0 ≤ beta1 < 1");
    checkHyper("beta2", beta2, beta2 >= 0 && beta2 < 1, "0 ≤ beta2 < 1");
    checkHyper("eps", eps, eps > 0 && Number.isFinite(eps), "a finite number > 0");
    checkHyper("weightDecay", weightDecay, weightDecay >= 0 && Number.isFinite(weightDecay), "a finite number ≥ 0");
    const seen = new Set<Tensor>();
    params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`Cannot optimize parameter ${i} ("${p.name}") twice: it is listed twice`);
      if (p.dtype !== "f32") throw new Error(`Cannot optimize parameter ${i} ("${p.name}") of dtype ${p.dtype}`);
      seen.add(p);
    });
    this.params = [...params];
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decays = params.map((p) => (noDecay?.(p) ? 0 : weightDecay));
    this.#m = params.map((p) => keep(zeros(p.shape, { backend: p.backend })));
    this.#v = params.map((p) => keep(zeros(p.shape, { backend: p.backend })));
  }

  /** Updates done so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** One update of every parameter that has a gradient, at learning rate `lr` (default: the `lr` option). */
  step(lr: number | undefined = this.lr): void {
    if (lr === undefined) throw new Error("Cannot step AdamW without a learning rate: pass step(lr) or opts.lr");
    checkHyper("lr", lr, lr >= 0 && Number.isFinite(lr), "a finite number ≥ 0");
    const t = ++this.#step;
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (g.size !== p.size || g.dtype !== "f32") {
        throw new Error(
          `Cannot step parameter "${p.name}" of shape ${fmtShape(p.shape)}: its grad is ${g.dtype} ${
            fmtShape(g.shape)
          }`,
        );
      }
      const bufs = [p.buffer, this.#m[i].buffer, this.#v[i].buffer];
      const attrs = { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.decays[i], step: t };
      p.backend.dispatch("adamw", bufs, [...bufs, g.buffer], attrs);
    });
  }

  /** Dispose every parameter's gradient and set it to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The update count and the live moment tensors (owned by the optimizer: do not dispose them). */
  state(): AdamWState {
    return { step: this.#step, m: [...this.#m], v: [...this.#v] };
  }

  /** Restore a `state()`: the moments are copied into the optimizer's own buffers, in parameter order. */
  loadState(state: { step: number; m: MomentData[]; v: MomentData[] }): void {
    checkStep(state.step);
    for (const [key, list] of [["m", state.m], ["v", state.v]] as const) {
      if (list.length !== this.params.length) {
        throw new Error(`Cannot load ${list.length} ${key} tensors into AdamW over ${this.params.length} parameters`);
      }
    }
    this.params.forEach((p, i) => {
      copyInto(this.#m[i], state.m[i], `m[${i}] ("${p.name}")`);
      copyInto(this.#v[i], state.v[i], `v[${i}] ("${p.name}")`);
    });
    this.#step = state.step;
  }

  /**
   * The moments by PyTorch/fairseq name, `<param.name>.exp_avg` and `<param.name>.exp_avg_sq`, for
   * `optimizer.safetensors` (live tensors: do not dispose). Every parameter needs a unique name.
   */
  optimizerTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.#names().forEach((name, i) => {
      out[`${name}.exp_avg`] = this.#m[i];
      out[`${name}.exp_avg_sq`] = this.#v[i];
    });
    return out;
  }

  /** Restore moments saved by `optimizerTensors()` (as tensors or host arrays) and the update count. */
  loadOptimizerTensors(tensors: Record<string, MomentData>, step: number): void {
    checkStep(step);
    const names = this.#names();
    const wanted = new Set(names.flatMap((n) => [`${n}.exp_avg`, `${n}.exp_avg_sq`]));
    for (const key of Object.keys(tensors)) {
      if (!wanted.has(key)) throw new Error(`Cannot load optimizer tensor "${key}": no parameter has that name`);
    }
    for (const key of wanted) {
      if (!(key in tensors)) throw new Error(`Cannot load optimizer state: tensor "${key}" is missing`);
    }
    names.forEach((name, i) => {
      copyInto(this.#m[i], tensors[`${name}.exp_avg`], `"${name}.exp_avg"`);
      copyInto(this.#v[i], tensors[`${name}.exp_avg_sq`], `"${name}.exp_avg_sq"`);
    });
    this.#step = step;
  }

  /** Free the moment buffers; the optimizer is unusable afterwards. */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }

  #names(): string[] {
    const names = this.params.map((p) => p.name);
    names.forEach((n, i) => {
      if (!n) throw new Error(`Cannot name the optimizer state of parameter ${i}: it has no name (use param(name))`);
      if (names.indexOf(n) !== i) throw new Error(`Cannot name the optimizer state: parameter name "${n}" repeats`);
    });
    return names;
  }
}

/** Overwrite `dst` with `src` in place: a device copy for a tensor, a write for host data. */
function copyInto(dst: Tensor, src: MomentData, what: string): void {
  if (!(src instanceof Float32Array) && "data" in src) {
    if (!(src.data instanceof Float32Array) || !sameShape(src.shape, dst.shape)) {
      const kind = src.data instanceof Float32Array ? "f32" : "i32";
      throw new Error(
        `Cannot load optimizer state ${what}: got ${kind} ${fmtShape(src.shape)}, expected f32 ${fmtShape(dst.shape)}`,
      );
    }
    src = src.data;
  }
  if (src instanceof Float32Array) {
    if (src.length !== dst.size) {
      throw new Error(`Cannot load optimizer state ${what}: got ${src.length} values, expected ${dst.size}`);
    }
    return dst.backend.write(dst.buffer, src);
  }
  if (!sameShape(src.shape, dst.shape) || src.dtype !== "f32") {
    throw new Error(
      `Cannot load optimizer state ${what}: got ${src.dtype} ${fmtShape(src.shape)}, expected f32 ${
        fmtShape(dst.shape)
      }`,
    );
  }
  if (src.backend !== dst.backend) throw new Error(`Cannot load optimizer state ${what} from another backend`);
  dst.backend.dispatch("strided", [dst.buffer], [src.buffer], { shape: [dst.size], strides: [1], offset: 0 });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
