/**
 * Shape primitives: reshape (a view), permute/transpose, slice, expand and concat (materialized through the
 * backend's strided copy and strided scatter).
 * @module
 */
import { fmtShape, numel, run, type Tensor } from "./tensor.ts";
import { broadcastShapes, broadcastStrides } from "./ops_elementwise.ts";
import { normAxis, sumTo } from "./ops_reduce.ts";
import { zeros } from "./create.ts";

/** Row-major element strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Same data, another shape; one dim may be -1. A view: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((s) => s !== -1);
  const infer = shape.length - known.length;
  const rest = numel(known);
  const resolved = infer === 1 && rest > 0 ? shape.map((s) => (s === -1 ? x.size / rest : s)) : [...shape];
  if (infer > 1 || resolved.some((s) => !Number.isInteger(s) || s < 0) || numel(resolved) !== x.size) {
    throw new Error(`Cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  return x.view(resolved).attach("reshape", [x], (g) => [reshape(g, x.shape)]);
}

/** Reorder axes: y.shape[i] = x.shape[axes[i]]. */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normAxis(a, x.rank, "permute", x.shape));
  if (axes.length !== x.rank || new Set(norm).size !== x.rank) {
    throw new Error(
      `Cannot permute shape ${fmtShape(x.shape)} by ${fmtShape(axes)}: expected a permutation of 0..${x.rank - 1}`,
    );
  }
  const src = contiguousStrides(x.shape);
  const shape = norm.map((a) => x.shape[a]);
  const y =
    run(x.backend, "strided", [shape], [x], { shape, strides: norm.map((a) => src[a]), offset: 0 }, "permute")[0];
  const inverse = new Array<number>(x.rank);
  norm.forEach((a, i) => (inverse[a] = i));
  return y.attach("permute", [x], (g) => [permute(g, inverse)]);
}

/** Swap axes a and b. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const axes = x.shape.map((_, i) => i);
  const ia = normAxis(a, x.rank, "transpose", x.shape), ib = normAxis(b, x.rank, "transpose", x.shape);
  [axes[ia], axes[ib]] = [axes[ib], axes[ia]];
  return permute(x, axes);
}

/** Elements [start, end) along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank, "slice", x.shape);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > x.shape[a] || start > end) {
    throw new Error(`Cannot slice [${start}, ${end}) from axis ${axis} of size ${x.shape[a]}`);
  }
  const strides = contiguousStrides(x.shape);
  const shape = x.shape.map((s, i) => (i === a ? end - start : s));
  const attrs = { shape, strides, offset: start * strides[a] };
  const y = run(x.backend, "strided", [shape], [x], attrs, "slice")[0];
  return y.attach("slice", [x], (g) => [scatterInto(zeros(x.shape, { backend: x.backend }), g, attrs)]);
}

/** Write `src` into `dst` at the strided positions (in place) and return dst. */
function scatterInto(dst: Tensor, src: Tensor, attrs: { shape: number[]; strides: number[]; offset: number }): Tensor {
  dst.backend.dispatch("scatterStrided", [dst.buffer], [dst.buffer, src.buffer], attrs);
  return dst;
}

/** Broadcast to `shape` (NumPy rules), materialized. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes(x.shape, shape, "expand");
  if (out.length !== shape.length || out.some((s, i) => s !== shape[i])) {
    throw new Error(`Cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const y = run(
    x.backend,
    "strided",
    [out],
    [x],
    { shape: out, strides: broadcastStrides(x.shape, out), offset: 0 },
    "expand",
  )[0];
  return y.attach("expand", [x], (g) => [sumTo(g, x.shape)]);
}

/** Join tensors along `axis`; all other dims must agree. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error("Cannot concat an empty list of tensors");
  const first = xs[0];
  const a = normAxis(axis, first.rank, "concat", first.shape);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((s, i) => i !== a && s !== first.shape[i])) {
      throw new Error(`Cannot concat shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} along axis ${axis}`);
    }
  }
  const shape = first.shape.map((s, i) => (i === a ? xs.reduce((p, t) => p + t.shape[a], 0) : s));
  const out = zeros(shape, { backend: first.backend });
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of xs) {
    starts.push(at);
    scatterInto(out, t, { shape: [...t.shape], strides, offset: at * strides[a] });
    at += t.shape[a];
  }
  return out.attach(
    "concat",
    xs,
    (g, needs) => xs.map((t, i) => (needs[i] ? slice(g, a, starts[i], starts[i] + t.shape[a]) : null)),
  );
}
