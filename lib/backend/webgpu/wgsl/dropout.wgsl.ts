/**
 * Dropout without a stored mask: y[i] = x[i] · keep where hash32(seed ^ hash32(i)) >> 8 ≥ ⌈p·2^24⌉, else x[i] · 0.
 * hash32 is the lowbias32 hash of backend.ts with the same u32 wrapping multiplies, and the host turns
 * `dropoutUniform(seed, i) ≥ p` into that integer threshold, so y is bit-identical to the CPU's.
 * Legend: N elements.
 * @module
 */
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";

/** lowbias32 (Chris Wellons), as `hash32` in backend.ts. */
export const HASH32 = /* wgsl */ `
fn hash32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}`;

/**
 * y[i] = x[i] · keep or x[i] · 0. Params: [N, seed, threshold, keepBits, zeroBits]: the 0 comes from the params
 * too, so no compiler can fold x · 0 to 0 (dropped NaN and −0 stay as the CPU's).
 */
export function dropoutWgsl(): string {
  return PRELUDE + HASH32 + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${elementwiseMain(64, "p(0u)")}
  let u = hash32(p(1u) ^ hash32(i)) >> 8u;
  y[i] = x[i] * select(pf(4u), pf(3u), u >= p(2u));
}`;
}
