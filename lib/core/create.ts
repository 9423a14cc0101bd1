/**
 * Creation functions: from host data, constants and seeded random draws. All take an optional backend; the
 * default is the one `init` set.
 * @module
 */
import type { Backend, DType } from "../backend/backend.ts";
import { getBackend, getRng } from "./runtime.ts";
import { fmtShape, fromHost, numel, run, type Tensor } from "./tensor.ts";

/** Options shared by creation functions. */
export interface CreateOptions {
  /** Shape; defaults to the data's nesting (or [n] for a flat array). */
  shape?: readonly number[];
  /** "f32" (default) or "i32". */
  dtype?: DType;
  /** Make it a trainable leaf. */
  requiresGrad?: boolean;
  /** Backend (default: the one `init` set). */
  backend?: Backend;
}

/** A number or nested arrays of numbers (row-major, outermost first), as `tensor` takes them. */
export type Nested = number | Nested[];

function flatten(data: Nested, shape: number[], out: number[], depth: number): void {
  if (typeof data === "number") {
    out.push(data);
    return;
  }
  if (!Array.isArray(data)) throw new Error(`Cannot make a tensor from ${typeof data}: expected numbers or arrays`);
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) {
    throw new Error(
      `Cannot make a tensor from a ragged array: length ${data.length} where ${shape[depth]} was expected`,
    );
  }
  for (const d of data) flatten(d, shape, out, depth + 1);
}

function checkShape(shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new Error(`Cannot use shape ${JSON.stringify(shape)}: expected non-negative integers`);
  }
}

/**
 * A tensor from numbers, nested arrays or a typed array.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * await nk.init({ backend: "cpu" });
 * const x = nk.tensor([[1, 2], [3, 4]]); // shape [2, 2]
 * const ids = nk.tensor([0, 5, 2], { dtype: "i32" });
 * ```
 */
export function tensor(data: Nested | Float32Array | Int32Array | number[], opts: CreateOptions = {}): Tensor {
  let flat: number[] | Float32Array | Int32Array;
  let shape: readonly number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    shape = opts.shape ?? [data.length];
  } else {
    const inferred: number[] = [];
    const out: number[] = [];
    flatten(data as Nested, inferred, out, 0);
    flat = out;
    shape = opts.shape ?? inferred;
  }
  checkShape(shape);
  if (numel(shape) !== flat.length) {
    throw new Error(`Cannot shape ${flat.length} values as ${fmtShape(shape)} (${numel(shape)} elements)`);
  }
  const dtype = opts.dtype ?? (data instanceof Int32Array ? "i32" : "f32");
  if (dtype === "i32" && !(flat instanceof Int32Array) && [...flat].some((v) => !Number.isInteger(v))) {
    throw new Error("Cannot make an i32 tensor from non-integer values");
  }
  const host = dtype === "i32" ? Int32Array.from(flat) : flat instanceof Float32Array ? flat : Float32Array.from(flat);
  const t = fromHost(opts.backend ?? getBackend(), host, shape, "tensor");
  return opts.requiresGrad ? t.param() : t;
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape(shape);
  const t = run(opts.backend ?? getBackend(), "fill", [shape], [], { value }, "full", [opts.dtype ?? "f32"])[0];
  return opts.requiresGrad ? t.param() : t;
}

/** Zeros. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** Ones. */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** A scalar (shape []) on the same backend as `like`. @internal */
export function scalarLike(like: Tensor, value: number): Tensor {
  return full([], value, { backend: like.backend });
}

/** [0, 1, …, n−1]. */
export function arange(n: number, opts: CreateOptions = {}): Tensor {
  const data = Array.from({ length: n }, (_, i) => i);
  return tensor(data, { ...opts, shape: [n] });
}

/** Normal draws from the seeded generator, N(mean, std²). */
export function randn(shape: readonly number[], opts: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape(shape);
  const rng = getRng();
  const { mean = 0, std = 1 } = opts;
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return tensor(data, { ...opts, shape, dtype: "f32" });
}

/** Uniform draws from the seeded generator in [low, high). */
export function rand(shape: readonly number[], opts: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape(shape);
  const rng = getRng();
  const { low = 0, high = 1 } = opts;
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return tensor(data, { ...opts, shape, dtype: "f32" });
}
