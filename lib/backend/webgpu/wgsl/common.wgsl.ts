/**
 * WGSL shared by every kernel: the parameter block, NaN/∞ helpers, the flat invocation index over a 2-D grid, and
 * workgroup tree reductions.
 *
 * Why the NaN helpers: WGSL lets an implementation assume no NaN or ∞ at run time, and `max`/`min` with a NaN
 * operand are implementation-defined, so NaN tests read the bits (integer ops no compiler may fold) and every
 * max goes through `maxNan`. NaN and ±∞ cannot be WGSL constants (const-evaluation rejects them), so each
 * dispatch's params carry their bit patterns in the last three words.
 * Legend: N elements, R rows, C columns, WG workgroup size.
 * @module
 */

/** u32 words in each dispatch's parameter block (256 bytes: one uniform-offset alignment unit). */
export const PARAM_SLOTS = 64;

/** Parameter block, accessors and NaN/∞ helpers; `p(i)` is word i as u32, `pf(i)` as f32, `pi(i)` as i32. */
export const PRELUDE = /* wgsl */ `
struct Params { v: array<vec4<u32>, ${PARAM_SLOTS / 4}> }
@group(0) @binding(0) var<uniform> params: Params;
fn p(i: u32) -> u32 { return params.v[i / 4u][i % 4u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(p(i)); }
fn pi(i: u32) -> i32 { return bitcast<i32>(p(i)); }
fn nanF() -> f32 { return bitcast<f32>(params.v[${PARAM_SLOTS / 4 - 1}].y); }
fn infF() -> f32 { return bitcast<f32>(params.v[${PARAM_SLOTS / 4 - 1}].z); }
fn ninfF() -> f32 { return bitcast<f32>(params.v[${PARAM_SLOTS / 4 - 1}].w); }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isInf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
// max(a, b) that returns a NaN operand when there is one, else the larger (b on ties, as the CPU does).
fn maxNan(a: f32, b: f32) -> f32 {
  return select(select(b, a, a > b), select(b, a, isNan(a)), isNan(a) || isNan(b));
}
`;

/**
 * Workgroups an elementwise dispatch uses at most; each invocation then strides over the elements. Fewer, longer
 * invocations matter on llvmpipe, which pays ~1 µs per workgroup; 4096 × 64 invocations still fill a real GPU.
 */
export const ELEMENTWISE_MAX_GROUPS = 4096;

/**
 * Entry point for elementwise kernels: a grid-stride loop over i < `n` (an expression) calling `body(i)`. The
 * text that follows must be the statements of `body` and its closing brace.
 */
export function elementwiseMain(wg: number, n: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = ${n};
  let stride = nwg.x * nwg.y * ${wg}u;
  for (var i = (wid.x + wid.y * nwg.x) * ${wg}u + li; i < n; i += stride) { body(i); }
}
fn body(i: u32) {`;
}

/** Entry point header for one workgroup per row: defines `row` (uniform) and `li`, returns when row ≥ `rows`. */
export function rowMain(wg: number, rows: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${rows}) { return; }`;
}

/**
 * A workgroup tree reduction `name(li, v) -> T` over WG lanes with `combine(a, b)` (an expression in a and b).
 * Call from uniform control flow; every lane gets the result. The last barrier lets the scratch be reused.
 */
export function wgReduce(name: string, type: string, wg: number, combine: string): string {
  return /* wgsl */ `
var<workgroup> ${name}_s: array<${type}, ${wg}>;
fn ${name}(li: u32, v: ${type}) -> ${type} {
  ${name}_s[li] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (li < s) {
      let a = ${name}_s[li];
      let b = ${name}_s[li + s];
      ${name}_s[li] = ${combine};
    }
    workgroupBarrier();
  }
  let r = ${name}_s[0];
  workgroupBarrier();
  return r;
}`;
}
