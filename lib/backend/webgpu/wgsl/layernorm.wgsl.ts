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
/**
 * Input `name` (rows of U units; g and b one row) at `binding`: a storage buffer, or with `tex` an rgba32float
 * texture, one texture row per row (vec only). llvmpipe gathers texture loads as vectors but runs storage loads lane
 * by lane: at 2048×512 on the AVX2 machine the forward took 38 ms CPU from buffers, 20 with x from a texture, 7 with
 * g and b too (their copies ~0.3 ms).
 */
const input = (tex: boolean, binding: number, name: string, t: string) =>
  `@group(0) @binding(${binding}) var${tex ? ` ${name}: texture_2d<f32>` : `<storage, read> ${name}: array<${t}>`};`;
/** Unit `u` of row `row` of input `name`. */
const at = (tex: boolean, name: string, row: string, u: string) =>
  tex ? `textureLoad(${name}, vec2<u32>(${u}, ${row}), 0)` : `${name}[${row} * units + ${u}]`;

/** [y, mean, rstd] ← [x, g, b]; invocation i normalises row i; `tex`: inputs from textures. Params: [R, C, eps]. */
export function layerNormWgsl(vec: boolean, tex = false): string {
  const t = ty(vec);
  const x = (u: string) => at(tex, "x", "i", u);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
${input(tex, 4, "x", t)}
${input(tex, 5, "g", t)}
${input(tex, 6, "b", t)}
${elementwiseMain(LN_WG, "p(0u)")}
  let cols = p(1u);
  let units = cols / ${vec ? 4 : 1}u;
  var s = ${t}(0.0);
  for (var u = 0u; u < units; u++) { s += ${x("u")}; }
  let m = ${hsum(vec, "s")} / f32(cols);
  var v = ${t}(0.0);
  for (var u = 0u; u < units; u++) { let d = ${x("u")} - m; v += d * d; }
  let r = 1.0 / sqrt(${hsum(vec, "v")} / f32(cols) + pf(2u));
  for (var u = 0u; u < units; u++) {
    y[i * units + u] = (${x("u")} - m) * r * ${at(tex, "g", "0u", "u")} + ${at(tex, "b", "0u", "u")};
  }
  mean[i] = m;
  rstd[i] = r;
}`;
}

/** [dx] ← [dy, x, g, mean, rstd]; invocation i computes row i; `tex`: dy, x, g from textures. Params: [R, C]. */
export function layerNormDxWgsl(vec: boolean, tex = false): string {
  const t = ty(vec);
  const dy = at(tex, "dy", "i", "u"), x = at(tex, "x", "i", "u"), g = at(tex, "g", "0u", "u");
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dx: array<${t}>;
${input(tex, 2, "dy", t)}
${input(tex, 3, "x", t)}
${input(tex, 4, "g", t)}
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;
${elementwiseMain(LN_WG, "p(0u)")}
  let cols = p(1u);
  let units = cols / ${vec ? 4 : 1}u;
  let m = mean[i];
  let r = rstd[i];
  var sg = ${t}(0.0);
  var sgx = ${t}(0.0);
  for (var u = 0u; u < units; u++) {
    let gh = ${dy} * ${g};
    sg += gh;
    sgx += gh * (${x} - m);
  }
  let mg = ${hsum(vec, "sg")} / f32(cols);
  let mgx = ${hsum(vec, "sgx")} * r / f32(cols);
  for (var u = 0u; u < units; u++) {
    let xh = (${x} - m) * r;
    dx[i * units + u] = r * (${dy} * ${g} - mg - xh * mgx);
  }
}`;
}

/** Rows each invocation of the dg/db partial-sum kernel walks. */
export const LN_ROW_BLOCK = 64;

/**
 * [part] ← [dy, x, mean, rstd]: invocation i sums column unit u = i mod U over row block b = ⌊i / U⌋ (rows
 * b·RB ..), writing the dg partial to part[b·U + u] and the db partial to part[(NB + b)·U + u]. Params: [R, C,
 * NB]. Neighbouring invocations read neighbouring columns of the same rows, so a block's rows stay in cache.
 * `tex`: dy and x from textures.
 */
export function layerNormDgDbPartWgsl(vec: boolean, tex = false): string {
  const t = ty(vec);
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> part: array<${t}>;
${input(tex, 2, "dy", t)}
${input(tex, 3, "x", t)}
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
    let d = ${at(tex, "dy", "r", "u")};
    ag += d * (${at(tex, "x", "r", "u")} - mean[r]) * rstd[r];
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
