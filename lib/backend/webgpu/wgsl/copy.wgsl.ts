/**
 * Bit-exact data movement, one invocation per element: strided gather (permute, slice, expand), strided scatter in
 * place (concat, slice backward), fill, and the causal mask. Buffers are read as u32, so f32 and i32 tensors share
 * the kernels and NaN payloads and −0 survive untouched.
 * Legend: N elements, D rank, R rows, Tq query positions, Tk key positions.
 * @module
 */
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";
import { unravel } from "./binary.wgsl.ts";

const WG = 64;

/** y[i] = x[offset + Σ idx·strides]. Params: [N, offset, shape[D], strides[D]]. */
export function stridedWgsl(rank: number): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${elementwiseMain(WG, "p(0u)")}
  ${unravel(rank, 2, ["ix"], [2 + rank])}
  y[i] = x[p(1u) + ix];
}`;
}

/** dst[offset + Σ idx·strides] = src[i], in place on dst. Params: [N, offset, shape[D], strides[D]]. */
export function scatterStridedWgsl(rank: number): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
${elementwiseMain(WG, "p(0u)")}
  ${unravel(rank, 2, ["id"], [2 + rank])}
  dst[p(1u) + id] = src[i];
}`;
}

/** y[i] = bits. Params: [N, bits]. */
export function fillWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
${elementwiseMain(WG, "p(0u)")}
  y[i] = p(1u);
}`;
}

/**
 * y = x with y[r, q, k] = value where k > q + (Tk − Tq); the value's bits come through the params, so −∞ needs no
 * WGSL constant. Params: [N, Tq, Tk, valueBits].
 */
export function causalMaskWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${elementwiseMain(WG, "p(0u)")}
  let tq = p(1u);
  let tk = p(2u);
  let k = i % tk;
  let q = (i / tk) % tq;
  // k > q + tk − tq, written without unsigned underflow (tq may exceed tk).
  y[i] = select(x[i], p(3u), k + tq > q + tk);
}`;
}
