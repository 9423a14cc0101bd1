/**
 * The Tensor: a shape, a dtype and a reference-counted device buffer, plus the autograd node that made it.
 * Ops live in `ops_*.ts` (each backward rule beside its forward); this file holds storage, graph and backward.
 * @module
 */
import type { Backend, DeviceBuffer, DType, OpAttrs, OpName } from "../backend/backend.ts";
import { getBackend, isGradEnabled, keep, noGrad, tidy, track } from "./runtime.ts";
import * as E from "./ops_elementwise.ts";
import * as S from "./ops_shape.ts";
import * as R from "./ops_reduce.ts";
import * as N from "./ops_nn.ts";

/** A device buffer shared by a tensor and its reshaped views; freed when the last one is disposed. */
class Storage {
  refs = 1;
  constructor(readonly backend: Backend, readonly buffer: DeviceBuffer) {}
  release(): void {
    if (--this.refs === 0) this.backend.free(this.buffer);
  }
}

/** Backward rule: the gradient of each input given the output gradient (null where not needed). */
export type BackwardFn = (grad: Tensor, needs: boolean[]) => (Tensor | null)[];

interface Node {
  op: string;
  inputs: Tensor[];
  backward: BackwardFn;
}

/** Shape → element count. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Format a shape for error messages: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * An n-dimensional array on a backend, with reverse-mode autograd.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * await nk.init({ backend: "cpu" });
 * const x = nk.tensor([1, 2, 3], { requiresGrad: true });
 * const y = x.mul(x).sum();
 * y.backward();
 * console.log(await x.grad!.toArray()); // Float32Array [2, 4, 6]
 * ```
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Whether gradients flow to this tensor. */
  requiresGrad = false;
  /** Accumulated gradient after `backward()` (leaf tensors only). */
  grad: Tensor | null = null;
  /** Optional name (parameters carry their fairseq name). */
  name = "";
  #storage: Storage | null;
  #node: Node | null = null;
  #madeBy: string;

  /** Wrap a buffer; prefer `nk.tensor`, `nk.zeros`, … */
  constructor(storage: Storage, shape: readonly number[], dtype: DType, madeBy: string) {
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.#madeBy = madeBy;
    track(this);
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }
  /** The backend holding the data. */
  get backend(): Backend {
    return this.#live().backend;
  }
  /** The device buffer (for backends and fused ops). */
  get buffer(): DeviceBuffer {
    return this.#live().buffer;
  }
  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.#storage === null;
  }
  /** The op that produced this tensor, if it is part of a recorded graph. */
  get op(): string | null {
    return this.#node?.op ?? null;
  }

  #live(): Storage {
    if (!this.#storage) {
      throw new Error(`Cannot use a disposed tensor (shape ${fmtShape(this.shape)}, made by ${this.#madeBy})`);
    }
    return this.#storage;
  }

  /**
   * Release the device buffer (shared views keep it until they are disposed too). Idempotent. The autograd node
   * stays until backward has passed it: a model may free an activation that no backward rule reads (a product
   * before its bias add, attention scores once softmaxed) and gradients still flow through it; a rule that does
   * read it fails naming the tensor.
   */
  dispose(): void {
    if (!this.#storage) return;
    this.#storage.release();
    this.#storage = null;
  }

  /** A view with another shape over the same buffer (no copy); one dim may be -1. */
  view(shape: readonly number[]): Tensor {
    const storage = this.#live();
    storage.refs++;
    return new Tensor(storage, shape, this.dtype, "view");
  }

  /** Record how this tensor was made, when gradients are on and an input needs them. */
  attach(op: string, inputs: Tensor[], backward: BackwardFn): this {
    if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
      this.requiresGrad = true;
      this.#node = { op, inputs, backward };
    }
    return this;
  }

  /** Copy the data to the host. */
  async toArray(): Promise<Float32Array | Int32Array> {
    const s = this.#live();
    return await s.backend.read(s.buffer);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`Cannot take item() of a tensor of shape ${fmtShape(this.shape)}: expected 1 element`);
    }
    return (await this.toArray())[0];
  }

  /** Mark as a trainable leaf (kept alive by `tidy`). */
  param(name = ""): this {
    this.requiresGrad = true;
    this.name = name;
    keep(this);
    return this;
  }

  /**
   * Reverse-mode autodiff: accumulate d(this)/d(leaf) into every leaf's `.grad`. A non-scalar output needs a
   * seed gradient of its own shape. The graph is released afterwards.
   */
  backward(seed?: Tensor): void {
    if (!this.requiresGrad) throw new Error("Cannot backward() from a tensor that does not require grad");
    if (!seed && this.size !== 1) {
      throw new Error(`Cannot backward() from a tensor of shape ${fmtShape(this.shape)} without a seed gradient`);
    }
    if (seed && (seed.shape.length !== this.shape.length || seed.shape.some((s, i) => s !== this.shape[i]))) {
      throw new Error(`Cannot seed backward() of shape ${fmtShape(this.shape)} with shape ${fmtShape(seed.shape)}`);
    }
    const order = this.#topo();
    const grads = new Map<Tensor, Tensor>();
    noGrad(() => {
      grads.set(this, seed ? seed.mul(1) : fill(this.backend, this.shape, 1));
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i];
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        const node = t.#node;
        if (!node) {
          accumulate(t, g);
          continue;
        }
        // A rule's temporaries (a product before `sumTo`'s view of it, a mask) go as soon as it returns; only
        // the input gradients live on. Left to the caller's scope they would all stay until the pass ends.
        const gin = tidy(() => node.backward(g, node.inputs.map((x) => x.requiresGrad)));
        g.dispose();
        node.inputs.forEach((x, j) => {
          const gj = gin[j];
          if (!gj || !x.requiresGrad) return gj?.dispose();
          const prev = grads.get(x);
          if (prev) {
            grads.set(x, prev.add(gj));
            prev.dispose();
            gj.dispose();
          } else grads.set(x, gj);
        });
        t.#node = null;
      }
    });
  }

  /** Tensors reachable from this one through recorded nodes, inputs before outputs. */
  #topo(): Tensor[] {
    const order: Tensor[] = [];
    const seen = new Set<Tensor>([this]);
    const stack: [Tensor, number][] = [[this, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const inputs = top[0].#node?.inputs ?? [];
      if (top[1] < inputs.length) {
        const next = inputs[top[1]++];
        if (next.requiresGrad && !seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        order.push(top[0]);
        stack.pop();
      }
    }
    return order;
  }

  // ---- methods (thin wrappers over the functional ops) ----
  /** Elementwise a + b (broadcasting; b may be a number). */ add(b: Tensor | number): Tensor {
    return E.add(this, b);
  }
  /** Elementwise a − b. */ sub(b: Tensor | number): Tensor {
    return E.sub(this, b);
  }
  /** Elementwise a · b. */ mul(b: Tensor | number): Tensor {
    return E.mul(this, b);
  }
  /** Elementwise a / b. */ div(b: Tensor | number): Tensor {
    return E.div(this, b);
  }
  /** Elementwise a ^ b (a > 0 where b is not an integer). */ pow(b: Tensor | number): Tensor {
    return E.pow(this, b);
  }
  /** Elementwise maximum. */ maximum(b: Tensor | number): Tensor {
    return E.maximum(this, b);
  }
  /** −x. */ neg(): Tensor {
    return E.neg(this);
  }
  /** eˣ. */ exp(): Tensor {
    return E.exp(this);
  }
  /** ln x. */ log(): Tensor {
    return E.log(this);
  }
  /** √x. */ sqrt(): Tensor {
    return E.sqrt(this);
  }
  /** 1/√x. */ rsqrt(): Tensor {
    return E.rsqrt(this);
  }
  /** tanh x. */ tanh(): Tensor {
    return E.tanh(this);
  }
  /** |x|. */ abs(): Tensor {
    return E.abs(this);
  }
  /** erf x. */ erf(): Tensor {
    return E.erf(this);
  }
  /** Exact GELU x·Φ(x). */ gelu(): Tensor {
    return E.gelu(this);
  }
  /** max(x, 0). */ relu(): Tensor {
    return E.relu(this);
  }
  /** relu(x)², the 2.7B runs' activation. */ reluSquared(): Tensor {
    return E.reluSquared(this);
  }
  /** Sum over an axis (all axes when omitted). */ sum(axis?: number, keepDim = false): Tensor {
    return R.sum(this, axis, keepDim);
  }
  /** Mean over an axis (all axes when omitted). */ mean(axis?: number, keepDim = false): Tensor {
    return R.mean(this, axis, keepDim);
  }
  /** Max over an axis (all axes when omitted); the gradient goes to every maximal element. */ max(
    axis?: number,
    keepDim = false,
  ): Tensor {
    return R.max(this, axis, keepDim);
  }
  /** Batched matrix product (..., m, k)·(..., k, n), with optional transposes of the last two axes. */ matmul(
    b: Tensor,
    opts?: N.MatmulOptions,
  ): Tensor {
    return N.matmul(this, b, opts);
  }
  /** Same data, another shape (one dim may be -1). */ reshape(shape: readonly number[]): Tensor {
    return S.reshape(this, shape);
  }
  /** Reorder axes. */ permute(axes: readonly number[]): Tensor {
    return S.permute(this, axes);
  }
  /** Swap two axes (default the last two). */ transpose(a = -2, b = -1): Tensor {
    return S.transpose(this, a, b);
  }
  /** Take [start, end) along an axis. */ slice(axis: number, start: number, end: number): Tensor {
    return S.slice(this, axis, start, end);
  }
  /** Broadcast to a larger shape (materialized). */ expand(shape: readonly number[]): Tensor {
    return S.expand(this, shape);
  }
  /** Softmax over the last axis (fused). */ softmax(): Tensor {
    return N.softmax(this);
  }
}

function fill(backend: Backend, shape: readonly number[], value: number): Tensor {
  return run(backend, "fill", [shape], [], { value }, "fill")[0];
}

function accumulate(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const sum = leaf.grad.add(g);
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = keep(sum);
  } else leaf.grad = keep(g);
}

/**
 * Allocate outputs of the given shapes on `backend`, dispatch `op` and wrap the results. dtypes default to f32.
 * @internal
 */
export function run<K extends OpName>(
  backend: Backend,
  op: K,
  outShapes: readonly (readonly number[])[],
  ins: Tensor[],
  attrs: OpAttrs[K],
  madeBy: string,
  outDtypes?: DType[],
): Tensor[] {
  for (const t of ins) {
    if (t.backend !== backend) {
      throw new Error(`Cannot combine tensors on backends "${t.backend.name}" and "${backend.name}" in ${madeBy}`);
    }
  }
  const outs = outShapes.map((s, i) => {
    const dtype = outDtypes?.[i] ?? "f32";
    return new Tensor(new Storage(backend, backend.alloc(numel(s), dtype)), s, dtype, madeBy);
  });
  backend.dispatch(op, outs.map((t) => t.buffer), ins.map((t) => t.buffer), attrs);
  return outs;
}

/** A new tensor holding host data on `backend`. @internal */
export function fromHost(
  backend: Backend,
  data: Float32Array | Int32Array,
  shape: readonly number[],
  madeBy: string,
): Tensor {
  const dtype: DType = data instanceof Int32Array ? "i32" : "f32";
  const buffer = backend.alloc(data.length, dtype);
  backend.write(buffer, data);
  return new Tensor(new Storage(backend, buffer), shape, dtype, madeBy);
}

/** The default backend, for creation functions. @internal */
export function defaultBackend(): Backend {
  return getBackend();
}
