/**
 * Elementwise primitives with NumPy broadcasting; each backward rule sits beside its forward.
 * @module
 */
import type { BinaryFn, UnaryFn } from "../backend/backend.ts";
import { fmtShape, run, type Tensor } from "./tensor.ts";
import { sumTo } from "./ops_reduce.ts";
import { scalarLike } from "./create.ts";

/** Throw unless `t` holds f32 values. */
export function expectF32(t: Tensor, op: string): void {
  if (t.dtype !== "f32") throw new Error(`Cannot ${op} a tensor of dtype ${t.dtype}: expected f32`);
}

/** The broadcast shape of a and b (NumPy rules). */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`Cannot ${op} shapes ${fmtShape(a)} and ${fmtShape(b)}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` read as `out` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    strides[j] = shape[i] === 1 && out[j] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

function unaryOp(x: Tensor, fn: UnaryFn): Tensor {
  expectF32(x, fn);
  return run(x.backend, "unary", [x.shape], [x], { fn }, fn)[0];
}

function binaryOp(a: Tensor, b: Tensor, fn: BinaryFn): Tensor {
  expectF32(a, fn);
  expectF32(b, fn);
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const attrs = { fn, shape, aStrides: broadcastStrides(a.shape, shape), bStrides: broadcastStrides(b.shape, shape) };
  return run(a.backend, "binary", [shape], [a, b], attrs, fn)[0];
}

/** y = x·scale + bias with scalar constants. */
export function affine(x: Tensor, scale: number, bias: number): Tensor {
  expectF32(x, "scale");
  const y = run(x.backend, "affine", [x.shape], [x], { scale, bias }, "affine")[0];
  return y.attach("affine", [x], (g) => [affine(g, scale, 0)]);
}

const asTensor = (a: Tensor, b: Tensor | number) => (typeof b === "number" ? scalarLike(a, b) : b);

/** a + b. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1, b);
  return binaryOp(a, b, "add").attach(
    "add",
    [a, b],
    (g, [na, nb]) => [na ? sumTo(g, a.shape) : null, nb ? sumTo(g, b.shape) : null],
  );
}

/** a − b. */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1, -b);
  return binaryOp(a, b, "sub").attach(
    "sub",
    [a, b],
    (g, [na, nb]) => [na ? sumTo(g, a.shape) : null, nb ? sumTo(neg(g), b.shape) : null],
  );
}

/** a · b. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, b, 0);
  return binaryOp(a, b, "mul").attach("mul", [a, b], (g, [na, nb]) => [
    na ? sumTo(mul(g, b), a.shape) : null,
    nb ? sumTo(mul(g, a), b.shape) : null,
  ]);
}

/** a / b. */
export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1 / b, 0);
  return binaryOp(a, b, "div").attach("div", [a, b], (g, [na, nb]) => [
    na ? sumTo(div(g, b), a.shape) : null,
    nb ? sumTo(neg(div(mul(g, a), mul(b, b))), b.shape) : null,
  ]);
}

/** a ^ b; a must be positive where b is not an integer (WGSL leaves pow undefined for a < 0). */
export function pow(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(a, b);
  const y = binaryOp(a, bt, "pow");
  return y.attach("pow", [a, bt], (g, [na, nb]) => [
    na ? sumTo(mul(g, mul(bt, pow(a, sub(bt, 1)))), a.shape) : null,
    nb ? sumTo(mul(g, mul(y, log(a))), bt.shape) : null,
  ]);
}

/** Elementwise maximum; ties split the gradient evenly. */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(a, b);
  return binaryOp(a, bt, "max").attach("maximum", [a, bt], (g, [na, nb]) => {
    const tie = mul(binaryOp(a, bt, "eq"), 0.5);
    const ga = add(binaryOp(a, bt, "gt"), tie);
    return [na ? sumTo(mul(g, ga), a.shape) : null, nb ? sumTo(mul(g, affine(ga, -1, 1)), bt.shape) : null];
  });
}

/** 1 where a = b, else 0 (no gradient). */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(a, asTensor(a, b), "eq");
}

/** 1 where a > b, else 0 (no gradient). */
export function gt(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(a, asTensor(a, b), "gt");
}

/** −x. */
export function neg(x: Tensor): Tensor {
  return affine(x, -1, 0);
}

/** eˣ. */
export function exp(x: Tensor): Tensor {
  const y = unaryOp(x, "exp");
  return y.attach("exp", [x], (g) => [mul(g, y)]);
}

/** ln x. */
export function log(x: Tensor): Tensor {
  return unaryOp(x, "log").attach("log", [x], (g) => [div(g, x)]);
}

/** √x. */
export function sqrt(x: Tensor): Tensor {
  const y = unaryOp(x, "sqrt");
  return y.attach("sqrt", [x], (g) => [div(mul(g, 0.5), y)]);
}

/** 1/√x. */
export function rsqrt(x: Tensor): Tensor {
  const y = unaryOp(x, "rsqrt");
  return y.attach("rsqrt", [x], (g) => [mul(mul(g, -0.5), mul(y, mul(y, y)))]);
}

/** tanh x. */
export function tanh(x: Tensor): Tensor {
  const y = unaryOp(x, "tanh");
  return y.attach("tanh", [x], (g) => [mul(g, affine(mul(y, y), -1, 1))]);
}

/** |x| (gradient sign(x), 0 at 0). */
export function abs(x: Tensor): Tensor {
  return unaryOp(x, "abs").attach("abs", [x], (g) => [mul(g, unaryOp(x, "sign"))]);
}

/** erf x. */
export function erf(x: Tensor): Tensor {
  return unaryOp(x, "erf").attach("erf", [x], (g) => [mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
}

/** Exact GELU, x·Φ(x) (fairseq computes it in fp32 with erf); the backward is one fused pass, g·gelu'(x). */
export function gelu(x: Tensor): Tensor {
  return unaryOp(x, "gelu").attach("gelu", [x], (g) => [binaryOp(x, g, "geluBackward")]);
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return unaryOp(x, "relu").attach("relu", [x], (g) => [mul(g, unaryOp(x, "step"))]);
}

/** relu(x)², fairseq's `relu_squared`. */
export function reluSquared(x: Tensor): Tensor {
  const r = relu(x);
  return mul(r, r);
}
