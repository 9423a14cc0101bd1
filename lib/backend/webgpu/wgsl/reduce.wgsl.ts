/**
 * Sum and max over the middle axis of x viewed as (outer, size, inner). Two shapes of work:
 * - inner = 1 (a row reduction): one workgroup per row, lanes stride over the row, then a tree in workgroup memory;
 * - inner > 1 (a column reduction, e.g. a bias gradient): a workgroup covers 32 adjacent columns (coalesced reads)
 *   with 8 lanes each striding over `size`, then a tree over the lanes.
 * Per-lane partial sums keep f32 rounding near √size·ε rather than size·ε. max propagates NaN (maxNan).
 * Legend: O outer, S size, I inner, WG workgroup size.
 * @module
 */
import { PRELUDE, rowMain, wgReduce } from "./common.wgsl.ts";

/** Workgroup size of the row reduction. */
export const ROW_WG = 64;
/** Columns per workgroup of the column reduction; COL_LANES lanes each. */
export const COLS = 32;
const COL_LANES = 8;

function combine(fn: "sum" | "max"): string {
  return fn === "sum" ? "a + b" : "maxNan(a, b)";
}

/** y[o] = reduce_s x[o, s] (inner = 1), one workgroup per row. Params: [O, S]. */
export function reduceRowsWgsl(fn: "sum" | "max"): string {
  return PRELUDE + wgReduce("red", "f32", ROW_WG, combine(fn)) + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${rowMain(ROW_WG, "p(0u)")}
  let size = p(1u);
  let base = row * size;
  var acc = ${fn === "sum" ? "0.0" : "ninfF()"};
  for (var s = li; s < size; s += ${ROW_WG}u) {
    let a = acc;
    let b = x[base + s];
    acc = ${combine(fn)};
  }
  let r = red(li, acc);
  if (li == 0u) { y[row] = r; }
}`;
}

/**
 * y[o, c] = reduce_s x[o, s, c] (inner > 1); workgroup `g` covers outer o = g / ⌈I/32⌉ and 32 columns.
 * Params: [O, S, I, ⌈I/32⌉].
 */
export function reduceColsWgsl(fn: "sum" | "max"): string {
  const wg = COLS * COL_LANES;
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
var<workgroup> part: array<f32, ${wg}>;
${rowMain(wg, "p(0u) * p(3u)")}
  let size = p(1u);
  let inner = p(2u);
  let o = row / p(3u);
  let col = (row % p(3u)) * ${COLS}u + li % ${COLS}u;
  let lane = li / ${COLS}u;
  var acc = ${fn === "sum" ? "0.0" : "ninfF()"};
  if (col < inner) {
    for (var s = lane; s < size; s += ${COL_LANES}u) {
      let a = acc;
      let b = x[(o * size + s) * inner + col];
      acc = ${combine(fn)};
    }
  }
  part[li] = acc;
  workgroupBarrier();
  for (var h = ${COL_LANES / 2}u; h > 0u; h >>= 1u) {
    if (lane < h) {
      let a = part[li];
      let b = part[li + h * ${COLS}u];
      part[li] = ${combine(fn)};
    }
    workgroupBarrier();
  }
  if (lane == 0u && col < inner) { y[o * inner + col] = part[li]; }
}`;
}
