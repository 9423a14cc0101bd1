/**
 * Fused LayerNorm over the last axis (biased variance, two-pass like the CPU oracle) and its backward, three
 * dispatches per forward + backward, none with workgroup memory or barriers.
 * Forward: one invocation per row, saving mean and rstd. Backward: dx one invocation per row (both row sums in
 * one pass); dg and db as column sums in two steps: partial sums over blocks of LN_ROW_BLOCK rows into a scratch
 * buffer (adjacent invocations read adjacent columns, so a GPU's reads stay coalesced), then their sum.
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), ĝ = dy⊙g, x̂ = (x − mean)·rstd; dg = Σ_r dy⊙x̂; db = Σ_r dy.
 *
 * Each kernel has a scalar and a vec4 variant (`vec`: C % 4 = 0, rows then start on 16-byte boundaries), and
 * reads x, dy, g and b in units of its element type. On the emulated adapter (Mesa llvmpipe) every storage load
 * runs a per-lane loop, and each workgroup barrier switches coroutines: per-row workgroups with tree reductions
 * (the previous design) spent most of their time there. Measured there, fwd + bwd kernels alone: 2048×128
 * 11.6 → 3.2 ms, 2048×512 27 → 13 ms. On a GPU, rows of a few hundred columns stay cheap per invocation.
 * Legend: R rows, C columns, U units per row (C, or C/4 when vec), WG workgroup size.
 * @module
 */
import { elementwiseMain, PRELUDE } from "./common.wgsl.ts";

/**
 * Invocations per workgroup: few, so that a few hundred rows (or a few dozen column quads) still make enough
 * workgroups to keep every llvmpipe thread busy.
 */
export const LN_WG = 16;

const ty = (vec: boolean) => (vec ? "vec4<f32>" : "f32");
const hsum = (vec: boolean, e: string) => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);

/** [y, mean, rstd] ← [x, g, b]; invocation i normalises row i. Params: [R, C, eps]. */
export function layerNormWgsl(vec: boolean): string {
  const t = ty(vec);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<${t}>;
@group(0) @binding(5) var<storage, read> g: array<${t}>;
@group(0) @binding(6) var<storage, read> b: array<${t}>;
${elementwiseMain(LN_WG, "p(0u)")}
  let cols = p(1u);
  let units = cols / ${vec ? 4 : 1}u;
  let base = i * units;
  var s = ${t}(0.0);
  for (var u = 0u; u < units; u++) { s += x[base + u]; }
  let m = ${hsum(vec, "s")} / f32(cols);
  var v = ${t}(0.0);
  for (var u = 0u; u < units; u++) { let d = x[base + u] - m; v += d * d; }
  let r = 1.0 / sqrt(${hsum(vec, "v")} / f32(cols) + pf(2u));
  for (var u = 0u; u < units; u++) { y[base + u] = (x[base + u] - m) * r * g[u] + b[u]; }
  mean[i] = m;
  rstd[i] = r;
}`;
}

/**
 * The forward reading x, g and b from rgba32float textures (x one texture row per row, g and b one row each; C a
 * multiple of 64, so copies fill them): llvmpipe gathers texture loads as vectors but runs storage loads lane by
 * lane. Measured at 2048×512 on llvmpipe (AVX2, 2 cores), CPU time of the forward: 38 ms from buffers, 20 with x
 * from a texture, 7 with g and b too (the copies ~0.3 ms). Params: [R, C, eps].
 */
export function layerNormTexWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var X: texture_2d<f32>;
@group(0) @binding(5) var G: texture_2d<f32>;
@group(0) @binding(6) var B: texture_2d<f32>;
${elementwiseMain(LN_WG, "p(0u)")}
  let cols = p(1u);
  let units = cols / 4u;
  let base = i * units;
  var s = vec4<f32>(0.0);
  for (var u = 0u; u < units; u++) { s += textureLoad(X, vec2<u32>(u, i), 0); }
  let m = dot(s, vec4<f32>(1.0)) / f32(cols);
  var v = vec4<f32>(0.0);
  for (var u = 0u; u < units; u++) { let d = textureLoad(X, vec2<u32>(u, i), 0) - m; v += d * d; }
  let r = 1.0 / sqrt(dot(v, vec4<f32>(1.0)) / f32(cols) + pf(2u));
  for (var u = 0u; u < units; u++) {
    let gb = vec2<u32>(u, 0u);
    y[base + u] = (textureLoad(X, vec2<u32>(u, i), 0) - m) * r * textureLoad(G, gb, 0) + textureLoad(B, gb, 0);
  }
  mean[i] = m;
  rstd[i] = r;
}`;
}

/** [dx] ← [dy, x, g, mean, rstd]; invocation i computes row i. Params: [R, C]. */
export function layerNormDxWgsl(vec: boolean): string {
  const t = ty(vec);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<${t}>;
@group(0) @binding(2) var<storage, read> dy: array<${t}>;
@group(0) @binding(3) var<storage, read> x: array<${t}>;
@group(0) @binding(4) var<storage, read> g: array<${t}>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;
${elementwiseMain(LN_WG, "p(0u)")}
  let cols = p(1u);
  let units = cols / ${vec ? 4 : 1}u;
  let base = i * units;
  let m = mean[i];
  let r = rstd[i];
  var sg = ${t}(0.0);
  var sgx = ${t}(0.0);
  for (var u = 0u; u < units; u++) {
    let gh = dy[base + u] * g[u];
    sg += gh;
    sgx += gh * (x[base + u] - m);
  }
  let mg = ${hsum(vec, "sg")} / f32(cols);
  let mgx = ${hsum(vec, "sgx")} * r / f32(cols);
  for (var u = 0u; u < units; u++) {
    let xh = (x[base + u] - m) * r;
    dx[base + u] = r * (dy[base + u] * g[u] - mg - xh * mgx);
  }
}`;
}

/** Rows each invocation of the dg/db partial-sum kernel walks. */
export const LN_ROW_BLOCK = 64;

/**
 * [part] ← [dy, x, mean, rstd]: invocation i sums column unit u = i mod U over row block b = ⌊i / U⌋ (rows
 * b·RB ..), writing the dg partial to part[b·U + u] and the db partial to part[(NB + b)·U + u]. Params: [R, C,
 * NB]. Neighbouring invocations read neighbouring columns of the same rows, so a block's rows stay in cache.
 */
export function layerNormDgDbPartWgsl(vec: boolean): string {
  const t = ty(vec);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> part: array<${t}>;
@group(0) @binding(2) var<storage, read> dy: array<${t}>;
@group(0) @binding(3) var<storage, read> x: array<${t}>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
${elementwiseMain(LN_WG, `p(2u) * p(1u) / ${vec ? 4 : 1}u`)}
  let units = p(1u) / ${vec ? 4 : 1}u;
  let u = i % units;
  let blk = i / units;
  let end = min(p(0u), (blk + 1u) * ${LN_ROW_BLOCK}u);
  var ag = ${t}(0.0);
  var ab = ${t}(0.0);
  for (var r = blk * ${LN_ROW_BLOCK}u; r < end; r++) {
    let d = dy[r * units + u];
    ag += d * (x[r * units + u] - mean[r]) * rstd[r];
    ab += d;
  }
  part[i] = ag;
  part[(p(2u) + blk) * units + u] = ab;
}`;
}

/** [dg, db] ← [part]: invocation u adds the NB partials of column unit u. Params: [R, C, NB]. */
export function layerNormDgDbSumWgsl(vec: boolean): string {
  const t = ty(vec);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dg: array<${t}>;
@group(0) @binding(2) var<storage, read_write> db: array<${t}>;
@group(0) @binding(3) var<storage, read> part: array<${t}>;
${elementwiseMain(LN_WG, `p(1u) / ${vec ? 4 : 1}u`)}
  let units = p(1u) / ${vec ? 4 : 1}u;
  let nb = p(2u);
  var ag = ${t}(0.0);
  var ab = ${t}(0.0);
  for (var b = 0u; b < nb; b++) {
    ag += part[b * units + i];
    ab += part[(nb + b) * units + i];
  }
  dg[i] = ag;
  db[i] = ab;
}`;
}
