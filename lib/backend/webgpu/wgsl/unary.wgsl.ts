/**
 * Elementwise unary functions and the scalar affine map, one invocation per element.
 *
 * erf: |x| < 1 uses a degree-6 polynomial in x² fitted for relative error (1.2e-9 in exact arithmetic, ~2 ulp in
 * f32); |x| ≥ 1 uses 1 − erfc with Numerical Recipes' erfcc (fractional error < 1.2e-7 for all x ≥ 0), with
 * exp(−x²) split as exp(−h²)·exp(−(x−h)(x+h)) (h = x with 12 mantissa bits, so h² is exact) to keep the tail's
 * relative accuracy. Φ(x) takes erfc directly for x ≤ −√2 so GELU's left tail has no cancellation. tanh is
 * Cephes' tanhf (the built-in may overflow sinh/cosh to NaN for |x| ≳ 89 on some drivers). Domain edges
 * (log 0, log/sqrt of a negative) are set explicitly: WGSL leaves them indeterminate.
 * Legend: N elements.
 * @module
 */
import type { UnaryFn } from "../../backend.ts";
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";

const WG = 64;

/** Special functions used by unary kernels (erf, Φ, GELU, tanh) and binary geluBackward. */
export const MATH = /* wgsl */ `
fn erfcPos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  var r = 0.17087277;
  r = fma(r, t, -0.82215223); r = fma(r, t, 1.48851587); r = fma(r, t, -1.13520398);
  r = fma(r, t, 0.27886807); r = fma(r, t, -0.18628806); r = fma(r, t, 0.09678418);
  r = fma(r, t, 0.37409196); r = fma(r, t, 1.00002368); r = fma(r, t, -1.26551223);
  let zc = min(z, 10.0);
  let h = bitcast<f32>(bitcast<u32>(zc) & 0xfffff000u);
  return t * exp(-h * h) * exp(r - (zc - h) * (zc + h));
}
fn erfS(x: f32) -> f32 {
  let s = x * x;
  var r = 7.853845454519615e-05;
  r = fma(r, s, -0.0008010189048945904); r = fma(r, s, 0.00518832728266716);
  r = fma(r, s, -0.026853810995817184); r = fma(r, s, 0.1128358542919159);
  r = fma(r, s, -0.3761262595653534); r = fma(r, s, 1.1283791065216064);
  let big = 1.0 - erfcPos(abs(x));
  return select(r * x, select(big, -big, x < 0.0), abs(x) >= 1.0);
}
fn phiS(x: f32) -> f32 {
  let z = x * 0.70710678118654752;
  return select(0.5 * (1.0 + erfS(z)), 0.5 * erfcPos(-z), z <= -1.0);
}
// At ±∞ these follow the CPU oracle's arithmetic: gelu(−∞) = −∞·0 = NaN, gelu'(±∞) = Φ + ±∞·0 = NaN.
fn geluS(x: f32) -> f32 { return select(x * phiS(x), nanF(), isInf(x) && x < 0.0); }
fn geluBackwardS(x: f32, dy: f32) -> f32 {
  return dy * select(phiS(x) + x * 0.3989422804014327 * exp(-0.5 * x * x), nanF(), isInf(x));
}
fn tanhS(x: f32) -> f32 {
  let a = abs(x);
  let e = exp(2.0 * min(a, 9.0));
  let big = 1.0 - 2.0 / (e + 1.0);
  let z = x * x;
  let small = ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z
    - 3.33332819422e-1) * z * x + x;
  return select(select(small, select(big, -big, x < 0.0), a >= 0.625), x, isNan(x));
}
`;

/** WGSL expression of `x` for each unary function; NaN in gives NaN out everywhere. */
const EXPR: Record<UnaryFn, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "select(select(log(x), ninfF(), x == 0.0), nanF(), x < 0.0)",
  sqrt: "select(sqrt(x), nanF(), x < 0.0)",
  rsqrt: "select(1.0 / sqrt(x), nanF(), x < 0.0)",
  tanh: "tanhS(x)",
  abs: "abs(x)",
  sign: "select(select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0), x, isNan(x))",
  erf: "select(erfS(x), x, isNan(x))",
  gelu: "select(geluS(x), x, isNan(x))",
  relu: "select(select(0.0, x, x > 0.0), x, isNan(x))",
  step: "select(select(0.0, 1.0, x > 0.0), x, isNan(x))",
};

/** Whether `fn` names a unary function. */
export function isUnaryFn(fn: string): fn is UnaryFn {
  return Object.hasOwn(EXPR, fn);
}

/** y[i] = fn(x[i]). Params: [N]. */
export function unaryWgsl(fn: UnaryFn): string {
  return PRELUDE + MATH + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> xs: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  let x = xs[i];
  y[i] = ${EXPR[fn]};
}`;
}

/** y[i] = x[i]·scale + bias. Params: [N, scale, bias]. */
export function affineWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${elementwiseMain(WG, "p(0u)")}
  y[i] = x[i] * pf(1u) + pf(2u);
}`;
}

/** Workgroup size of the elementwise kernels. */
export const UNARY_WG = WG;
