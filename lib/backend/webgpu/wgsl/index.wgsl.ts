/**
 * Embedding lookup and its backward. gather: one invocation per output element; an id outside [0, V) gives a NaN
 * row (bits copied as u32, so the table's values pass through exactly). scatterAdd: WGSL has no float atomics, so
 * each workgroup owns one vocabulary row v and 64 columns and walks the ids in chunks of 64 staged in workgroup
 * memory, adding the dy rows whose id is v in row order: deterministic, and the same summation order as the CPU.
 * A chunk with no match is skipped after one atomic flag check, so the cost is ~V·R/64 chunk visits plus the hits.
 * Legend: R rows (ids), C columns, V vocabulary, WG workgroup size.
 * @module
 */
import { elementwiseMain, PRELUDE, rowMain } from "./common.wgsl.ts";

const WG = 64;

/** y (R, C) = table[ids[r]] or NaN. Params: [R·C, C, V]. */
export function gatherWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
${elementwiseMain(WG, "p(0u)")}
  let cols = p(1u);
  let r = i / cols;
  let id = ids[r];
  var v = bitcast<u32>(nanF());
  if (id >= 0 && u32(id) < p(2u)) { v = table[u32(id) * cols + (i - r * cols)]; }
  y[i] = v;
}`;
}

/** Columns (and ids per chunk) of one scatterAdd workgroup. */
export const SCATTER_COLS = WG;

/** dTable (V, C) = Σ_r onehot(ids[r]) dy[r]; workgroup w covers v = w / ⌈C/64⌉. Params: [R, C, V, ⌈C/64⌉]. */
export function scatterAddWgsl(): string {
  return PRELUDE + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> dt: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
var<workgroup> sid: array<i32, ${WG}>;
var<workgroup> hit: atomic<u32>;
${rowMain(WG, "p(2u) * p(3u)")}
  let rows = p(0u);
  let cols = p(1u);
  let v = row / p(3u);
  let col = (row % p(3u)) * ${WG}u + li;
  var acc = 0.0;
  var chunk = 0u;
  for (var base = 0u; base < rows; base += ${WG}u) {
    chunk += 1u;
    workgroupBarrier(); // everyone is done reading the previous chunk's sid
    let r = base + li;
    var id = -1;
    if (r < rows) { id = ids[r]; }
    sid[li] = id;
    if (id == i32(v)) { atomicMax(&hit, chunk); } // hit only grows, so no reset is needed
    workgroupBarrier();
    if (atomicLoad(&hit) == chunk && col < cols) {
      let n = min(${WG}u, rows - base);
      for (var j = 0u; j < n; j += 1u) {
        if (sid[j] == i32(v)) { acc += dy[(base + j) * cols + col]; }
      }
    }
  }
  if (col < cols) { dt[v * cols + col] = acc; }
}`;
}
