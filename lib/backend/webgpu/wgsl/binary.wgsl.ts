/**
 * Elementwise binary functions with broadcast strides, one invocation per output element. The host coalesces
 * dimensions first, so the common cases (same shape, scalar or row broadcast) run at rank 1 or 2; the shader is
 * specialised on the rank, with shape and strides in the params.
 *
 * pow follows JavaScript's Math.pow (the CPU oracle): a negative base works for integer exponents, b = 0 gives 1
 * even for a NaN base, a NaN elsewhere gives NaN; WGSL's own pow is undefined for a negative base.
 * Legend: N elements, D rank.
 * @module
 */
import type { BinaryFn } from "../../backend.ts";
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";
import { MATH } from "./unary.wgsl.ts";

const WG = 64;

const POW = /* wgsl */ `
fn powJs(a: f32, b: f32) -> f32 {
  let bInt = floor(b) == b;
  let hb = b * 0.5;
  let odd = bInt && floor(hb) != hb;
  // log2 and exp2 at 0 and ±∞ are left to the implementation (llvmpipe's exp2(+∞) is 0): set them here.
  let aa = abs(a);
  let la = select(select(log2(aa), infF(), isInf(aa)), ninfF(), aa == 0.0);
  let t = b * la;
  let m = select(exp2(t), select(0.0, infF(), t > 0.0), isInf(t));
  var r = select(m, -m, a < 0.0 && odd);
  r = select(r, nanF(), a < 0.0 && !bInt);
  r = select(r, a * a, b == 2.0);
  r = select(r, a, b == 1.0);
  r = select(r, nanF(), isNan(a) || isNan(b) || isNan(t));
  return select(r, 1.0, b == 0.0);
}`;

/** WGSL expression of (a, b) for each binary function; comparisons and max give NaN for a NaN operand. */
const EXPR: Record<BinaryFn, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  pow: "powJs(a, b)",
  max: "maxNan(a, b)",
  eq: "select(select(0.0, 1.0, a == b), nanF(), isNan(a) || isNan(b))",
  gt: "select(select(0.0, 1.0, a > b), nanF(), isNan(a) || isNan(b))",
  geluBackward: "geluBackwardS(a, b)",
};

/** Whether `fn` names a binary function. */
export function isBinaryFn(fn: string): fn is BinaryFn {
  return Object.hasOwn(EXPR, fn);
}

/** Largest rank the binary and strided kernels take after coalescing. */
export const MAX_RANK = 8;

/**
 * WGSL statements unravelling flat index `i` over `rank` dims whose shape starts at param word `shapeAt`,
 * accumulating `Σ idx[d]·strides_k[d]` into `var <name_k>` for each stride set starting at `stridesAt[k]`.
 */
export function unravel(rank: number, shapeAt: number, names: string[], stridesAt: number[]): string {
  const lines = names.map((n) => `var ${n} = 0u;`);
  lines.push("var rem = i;");
  for (let d = rank - 1; d >= 1; d--) {
    lines.push(`{ let s = p(${shapeAt + d}u); let q = rem / s; let c = rem - q * s; rem = q;`);
    names.forEach((n, k) => lines.push(`  ${n} += c * p(${stridesAt[k] + d}u);`));
    lines.push("}");
  }
  // The outermost index is what remains: no division (integer division is the costly part on a CPU adapter).
  names.forEach((n, k) => lines.push(`${n} += rem * p(${stridesAt[k]}u);`));
  return lines.join("\n  ");
}

/** y (shape) = fn(a[Σ idx·aStrides], b[Σ idx·bStrides]). Params: [N, shape[D], aStrides[D], bStrides[D]]. */
export function binaryWgsl(fn: BinaryFn, rank: number): string {
  return PRELUDE + (fn === "pow" ? POW : "") + (fn === "geluBackward" ? MATH : "") + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> xa: array<f32>;
@group(0) @binding(3) var<storage, read> xb: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  ${unravel(rank, 1, ["ia", "ib"], [1 + rank, 1 + 2 * rank])}
  let a = xa[ia];
  let b = xb[ib];
  y[i] = ${EXPR[fn]};
}`;
}
