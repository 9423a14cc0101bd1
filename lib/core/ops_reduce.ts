/**
 * Reductions over one axis (sum, mean, max) and `sumTo`, the broadcast-undo used by binary backward rules.
 * @module
 */
import { fmtShape, numel, run, type Tensor } from "./tensor.ts";
import { div, eq, expectF32, mul } from "./ops_elementwise.ts";
import { expand, reshape } from "./ops_shape.ts";

/** Normalize a possibly negative axis, or throw naming the op and shape. */
export function normAxis(axis: number, rank: number, op: string, shape: readonly number[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new Error(`Cannot ${op} over axis ${axis} of a tensor of shape ${fmtShape(shape)}`);
  }
  return a;
}

function reduceOp(x: Tensor, fn: "sum" | "max", axis: number | undefined, keepDim: boolean): [Tensor, number[]] {
  expectF32(x, fn);
  if (axis === undefined) {
    const keep = x.shape.map(() => 1);
    const y = run(x.backend, "reduce", [keepDim ? keep : []], [x], { fn, outer: 1, size: x.size, inner: 1 }, fn)[0];
    return [y, keep];
  }
  const a = normAxis(axis, x.rank, fn, x.shape);
  const outer = numel(x.shape.slice(0, a)), inner = numel(x.shape.slice(a + 1)), size = x.shape[a];
  const keep = x.shape.map((s, i) => (i === a ? 1 : s));
  const shape = keepDim ? keep : x.shape.filter((_, i) => i !== a);
  if (fn === "max" && size === 0) {
    throw new Error(`Cannot take max over empty axis ${axis} of shape ${fmtShape(x.shape)}`);
  }
  return [run(x.backend, "reduce", [shape], [x], { fn, outer, size, inner }, fn)[0], keep];
}

/** Sum over `axis` (every axis when undefined). */
export function sum(x: Tensor, axis?: number, keepDim = false): Tensor {
  const [y, keep] = reduceOp(x, "sum", axis, keepDim);
  return y.attach("sum", [x], (g) => [expand(reshape(g, keep), x.shape)]);
}

/** Mean over `axis` (every axis when undefined). */
export function mean(x: Tensor, axis?: number, keepDim = false): Tensor {
  const n = axis === undefined ? x.size : x.shape[normAxis(axis, x.rank, "mean", x.shape)];
  return mul(sum(x, axis, keepDim), 1 / n);
}

/** Max over `axis` (every axis when undefined); ties share the gradient evenly. */
export function max(x: Tensor, axis?: number, keepDim = false): Tensor {
  const [y, keep] = reduceOp(x, "max", axis, keepDim);
  return y.attach("max", [x], (g) => {
    const mask = eq(x, reshape(y, keep));
    const share = div(mask, sum(mask, axis, true));
    return [mul(share, reshape(g, keep))];
  });
}

/** Sum `g` down to `shape`, undoing NumPy broadcasting (leading axes and size-1 axes). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  // Same shape: a view (no copy); the caller may dispose `g`, the shared storage lives on.
  if (g.rank === shape.length && g.shape.every((s, i) => s === shape[i])) return g.view(shape);
  let t = g;
  const lead = g.rank - shape.length;
  for (let i = 0; i < g.rank; i++) {
    const target = i < lead ? 1 : shape[i - lead];
    if (target === 1 && g.shape[i] !== 1) t = sum(t, i, true);
  }
  return reshape(t, shape);
}
