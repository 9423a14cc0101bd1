/**
 * Dropout mask from a counter-based hash: mask[i] = keep where hash32(seed ^ hash32(i)) >> 8 ≥ ⌈p·2^24⌉.
 * hash32 is the lowbias32 hash of backend.ts with the same u32 wrapping multiplies, and the host turns
 * `dropoutUniform(seed, i) ≥ p` into that integer threshold, so the mask is bit-identical to the CPU's.
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

/** mask[i] = keep or 0. Params: [N, seed, threshold, keepBits]. */
export function dropoutMaskWgsl(): string {
  return PRELUDE + HASH32 + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> mask: array<u32>;
${elementwiseMain(64, "p(0u)")}
  let u = hash32(p(1u) ^ hash32(i)) >> 8u;
  mask[i] = select(0u, p(3u), u >= p(2u));
}`;
}
