/**
 * Module base class and the basic layers (Linear, LayerNorm, Embedding). Parameters are registered under
 * fairseq's state-dict names so checkpoints load in PyTorch unchanged. Legend: C width, V vocabulary.
 * @module
 */
import { fmtShape, type Tensor } from "../core/tensor.ts";
import { full, rand, randn } from "../core/create.ts";
import { layerNorm } from "../core/ops_nn.ts";

/** A tree of named parameters and child modules with a training flag. */
export class Module {
  /** Dropout and other train-only behaviour is active when true. */
  training = true;
  #params = new Map<string, Tensor>();
  #children = new Map<string, Module>();

  /** Register a parameter under `name` (marks it trainable and tidy-proof), like PyTorch's register_parameter. */
  addParam(name: string, t: Tensor): Tensor {
    this.#params.set(name, t.param(name));
    return t;
  }

  /** Register a child module under `name`, like PyTorch's add_module. */
  addChild<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted fairseq name, in registration order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.#params) out.push([prefix + n, p]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Every parameter. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Set training mode on this module and its children. */
  train(on = true): this {
    this.training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }

  /** Evaluation mode (dropout off). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Copy named arrays into the parameters (fairseq names). Every parameter must be present with its exact shape;
   * unknown names are an error unless `strict` is false.
   */
  loadStateDict(
    tensors: Record<string, { shape: readonly number[]; data: Float32Array | Int32Array }>,
    strict = true,
  ): void {
    const params = new Map(this.namedParameters());
    for (const [name, p] of params) {
      const t = tensors[name];
      if (!t) throw new Error(`Cannot load weights: parameter "${name}" ${fmtShape(p.shape)} is missing`);
      if (t.shape.length !== p.shape.length || t.shape.some((s, i) => s !== p.shape[i])) {
        throw new Error(`Cannot load weights: "${name}" has shape ${fmtShape(t.shape)}, expected ${fmtShape(p.shape)}`);
      }
      if (!(t.data instanceof Float32Array)) throw new Error(`Cannot load weights: "${name}" is not float32`);
    }
    const extra = Object.keys(tensors).filter((n) => !params.has(n));
    if (strict && extra.length) {
      throw new Error(
        `Cannot load weights: unexpected tensors ${extra.slice(0, 5).map((n) => `"${n}"`).join(", ")}${
          extra.length > 5 ? ", …" : ""
        } for this config`,
      );
    }
    for (const [name, p] of params) p.backend.write(p.buffer, tensors[name].data);
  }

  /** Parameters as host arrays under their fairseq names. */
  async stateDict(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, p] of this.namedParameters()) {
      out[name] = { shape: [...p.shape], data: (await p.toArray()) as Float32Array };
    }
    return out;
  }

  /** Release every parameter and its gradient. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
  }
}

/** U(−bound, bound) draws. */
export function uniform(shape: number[], bound: number): Tensor {
  return rand(shape, { low: -bound, high: bound });
}

/** Weight and bias init bounds of a Linear, per NORMFORMER.md (b). */
export interface LinearInit {
  /** Weight U(±weightBound). Default PyTorch's 1/√fanIn. */
  weightBound?: number;
  /** Bias U(±biasBound); 0 means zeros. Default 1/√fanIn. */
  biasBound?: number;
}

/** y = x Wᵀ + b with W (out, in), as torch.nn.Linear. */
export class Linear extends Module {
  /** (out, in). */
  readonly weight: Tensor;
  /** (out). */
  readonly bias: Tensor;
  /** W (outFeatures, inFeatures) and b (outFeatures), uniform with PyTorch's bounds unless `init` overrides them. */
  constructor(inFeatures: number, outFeatures: number, init: LinearInit = {}) {
    super();
    const def = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParam("weight", uniform([outFeatures, inFeatures], init.weightBound ?? def));
    const bb = init.biasBound ?? def;
    this.bias = this.addParam("bias", bb === 0 ? full([outFeatures], 0) : uniform([outFeatures], bb));
  }
  /** (..., in) → (..., out). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/**
 * x (..., in) · wᵀ + b with w (out, in), b (out). The product before the bias is freed at once: neither rule
 * reads it (PyTorch's addmm never makes it), so a pass keeps one (..., out) activation, not two.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const xw = x.matmul(w, { transB: true });
  const y = xw.add(b);
  xw.dispose();
  return y;
}

/** LayerNorm over the last axis (gain 1, bias 0, eps 1e-5 as fairseq). */
export class LayerNorm extends Module {
  /** Gain g (C). */
  readonly weight: Tensor;
  /** Bias b (C). */
  readonly bias: Tensor;
  /** Gain 1 and bias 0 of width `dim`; `eps` is added to the variance. */
  constructor(dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.addParam("weight", full([dim], 1));
    this.bias = this.addParam("bias", full([dim], 0));
  }
  /** (..., C) → (..., C). */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** A (V, C) table drawn from N(0, std²). */
export function normalTable(rows: number, cols: number, std: number): Tensor {
  return randn([rows, cols], { std });
}
