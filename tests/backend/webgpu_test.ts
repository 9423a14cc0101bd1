/**
 * Every op of the WebGPU backend against the CPU oracle, on odd sizes, broadcasts, all matmul transposes, extreme
 * logits, −∞ masks and NaN; dropout must match bit for bit. Without a WebGPU adapter every test is
 * skipped with the reason printed (never passed silently).
 * @module
 */
import type { Backend, DeviceBuffer, OpAttrs, OpName } from "../../lib/backend/backend.ts";
import { createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import { createWebGpuBackend, DAWN_PACKAGE, type WebGpuBackend } from "../../lib/backend/webgpu/mod.ts";
import { shaderCatalog } from "../../lib/backend/webgpu/catalog.ts";
import { matmulTextures } from "../../lib/backend/webgpu/matmul_plan.ts";
import { assert, assertClose, assertEquals, assertNormClose, assertRejects, assertThrows } from "../assert.ts";

let gpu: WebGpuBackend | null = null;
let skipReason = "";
try {
  gpu = await createWebGpuBackend();
} catch (e) {
  skipReason = (e as Error).message;
  console.log(`webgpu_test: skipping every WebGPU test: ${skipReason}`);
}
const ignore = gpu === null;
const cpu = createCpuBackend();
/** Deno.test that is skipped (with the reason printed above) when there is no adapter. */
const test = (name: string, fn: (g: WebGpuBackend) => Promise<void>) =>
  Deno.test({ name: `webgpu ${name}`, ignore, fn: () => fn(gpu!) });

type Data = Float32Array | Int32Array;

let seed = 1;
/** Uniform in [lo, hi) from a fixed-seed mulberry32, so failures reproduce. */
function rand(n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let t = (seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
const ints = (xs: number[]) => Int32Array.from(xs);
const SENTINEL = 777; // outputs start at this, so an element a kernel forgets to write shows up

/** Run one op on a backend: outputs are sizes (f32) or initial data; in-place ops alias ins[k] = outs[k]. */
async function run<K extends OpName>(
  b: Backend,
  op: K,
  outs: (number | Data)[],
  ins: Data[],
  attrs: OpAttrs[K],
  inPlace = 0,
): Promise<Data[]> {
  const put = (d: Data) => {
    const buf = b.alloc(d.length, d instanceof Int32Array ? "i32" : "f32");
    b.write(buf, d);
    return buf;
  };
  const o = outs.map((x) => put(typeof x === "number" ? new Float32Array(x).fill(SENTINEL) : x));
  const i: DeviceBuffer[] = ins.map((d, k) => (k < inPlace ? o[k] : put(d)));
  b.dispatch(op, o, i, attrs);
  const res = await Promise.all(o.map((x) => b.read(x)));
  [...o, ...i.slice(inPlace)].forEach((x) => b.free(x));
  return res;
}

/** Run on both backends and compare each output: elementwise (rtol, atol) or norm-relative when `norm`. */
async function same<K extends OpName>(
  g: Backend,
  op: K,
  outs: (number | Data)[],
  ins: Data[],
  attrs: OpAttrs[K],
  tol: { rtol?: number; atol?: number; norm?: number; inPlace?: number } = {},
): Promise<Data[]> {
  const [got, want] = await Promise.all([
    run(g, op, outs, ins, attrs, tol.inPlace),
    run(cpu, op, outs, ins, attrs, tol.inPlace),
  ]);
  const what = `${op} ${JSON.stringify(attrs)}`.slice(0, 200);
  got.forEach((x, k) => {
    if (tol.norm) assertNormClose(x, want[k], tol.norm, `${what} out ${k}`);
    else assertClose(x, want[k], tol.rtol ?? 1e-5, tol.atol ?? 1e-6, `${what} out ${k}`);
  });
  return got;
}

const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-8, -1e-8, 1e-3, 0.5, -0.5, 1, -1, 2, 5, -5, 10, -10, 30, -30];
const UNARY = ["neg", "exp", "log", "sqrt", "rsqrt", "tanh", "abs", "sign", "erf", "gelu", "relu", "step"];

test("unary matches the CPU on every function, odd sizes and specials", async (g) => {
  const inputs = [new Float32Array(SPECIAL), rand(1, -3, 3), rand(3, -3, 3), rand(17, -6, 6), rand(129, -9, 9)];
  const runs = UNARY.flatMap((fn) =>
    inputs.map((x) => same(g, "unary", [x.length], [x], { fn: fn as OpAttrs["unary"]["fn"] }, { rtol: 1e-5 }))
  );
  await Promise.all(runs);
});

test("unary erf, gelu, tanh and binary geluBackward are accurate across [-8, 8] (float64 oracle)", async (g) => {
  const exact = createCpuBackend({ float64: true });
  const x = Float32Array.from({ length: 4001 }, (_, i) => -8 + i * 0.004);
  for (const fn of ["gelu", "erf", "tanh"] as const) {
    const [[got], [want]] = await Promise.all([
      run(g, "unary", [x.length], [x], { fn }),
      run(exact, "unary", [x.length], [x], { fn }),
    ]);
    assertClose(got, want, 2e-6, 1e-7, fn);
  }
  const dy = rand(x.length, -2, 2);
  const attrs: OpAttrs["binary"] = { fn: "geluBackward", shape: [x.length], aStrides: [1], bStrides: [1] };
  const [[got], [want]] = await Promise.all([
    run(g, "binary", [x.length], [x, dy], attrs),
    run(exact, "binary", [x.length], [x, dy], attrs),
  ]);
  assertClose(got, want, 2e-6, 2e-7, "geluBackward");
});

test("binary matches the CPU with broadcasts, permuted strides and rank 6", async (g) => {
  const cases: [number[], number[], number[], number, number][] = [
    [[17], [1], [1], 17, 17],
    [[3, 129], [129, 1], [129, 1], 387, 387],
    [[4, 17], [17, 1], [0, 1], 68, 17], // row broadcast
    [[5, 7], [1, 0], [7, 1], 5, 35], // column broadcast
    [[3, 5], [0, 0], [5, 1], 1, 15], // scalar
    [[6, 4], [1, 6], [4, 1], 24, 24], // a read transposed
    [[2, 1, 3, 2, 2, 3], [36, 36, 12, 6, 3, 1], [0, 0, 1, 0, 3, 0], 72, 9], // rank 6
  ];
  const fns = ["add", "sub", "mul", "div", "pow", "max", "eq", "gt", "geluBackward"] as const;
  const runs = fns.flatMap((fn) =>
    cases.map(([shape, aStrides, bStrides, na, nb]) => {
      const a = rand(na, -3, 3), b = fn === "pow" ? rand(nb, -3, 3).map(Math.round) : rand(nb, -3, 3);
      if (fn !== "pow") [a[0], b[b.length - 1]] = [NaN, a.length > 1 ? a[1] : 2];
      const n = shape.reduce((p, s) => p * s, 1);
      return same(g, "binary", [n], [a, b], { fn, shape, aStrides, bStrides }, { rtol: fn === "pow" ? 2e-5 : 1e-5 });
    })
  );
  const pa = new Float32Array([2, 0.5, 3, 0, 0, -2, -2, -2, NaN, NaN, 1, 7]);
  const pb = new Float32Array([0.5, -1.5, 2, 2, -1, 3, 2, 0.5, 0, 1, NaN, 1]);
  runs.push(same(g, "binary", [12], [pa, pb], { fn: "pow", shape: [12], aStrides: [1], bStrides: [1] }));
  await Promise.all(runs);
});

test("affine, fill and causalMask match the CPU", async (g) => {
  const runs: Promise<unknown>[] = [];
  for (const n of [1, 3, 17, 129]) {
    runs.push(same(g, "affine", [n], [rand(n, -5, 5)], { scale: 1 / 3, bias: -0.7 }));
    for (const value of [0, -1.5, -Infinity, NaN]) runs.push(same(g, "fill", [n], [], { value }));
  }
  runs.push(
    run(g, "fill", [new Int32Array(5)], [], { value: -7 }).then(([y]) => assertEquals(y, ints([-7, -7, -7, -7, -7]))),
  );
  for (const [rows, tq, tk] of [[1, 1, 1], [2, 3, 3], [3, 5, 17], [1, 17, 5]]) {
    for (const value of [-Infinity, -1e9]) {
      runs.push(same(g, "causalMask", [rows * tq * tk], [rand(rows * tq * tk)], { rows, tq, tk, value }));
    }
  }
  await Promise.all(runs);
});

test("reduce sum and max match the CPU over rows and columns, with NaN and size 0", async (g) => {
  const shapes = [[1, 1, 1], [3, 17, 1], [2, 129, 3], [5, 1000, 1], [1, 2048, 128], [2, 5, 40], [4, 0, 3], [3, 7, 33]];
  const runs: Promise<unknown>[] = [];
  for (const [outer, size, inner] of shapes) {
    for (const fn of ["sum", "max"] as const) {
      const x = rand(outer * size * inner, -2, 2);
      runs.push(same(g, "reduce", [outer * inner], [x], { fn, outer, size, inner }, { rtol: 1e-4, atol: 1e-4 }));
    }
  }
  const x = new Float32Array([1, NaN, 3, -Infinity, -Infinity, -Infinity, 5, 2, NaN]);
  for (const fn of ["sum", "max"] as const) {
    runs.push(same(g, "reduce", [3], [x], { fn, outer: 3, size: 3, inner: 1 }));
    runs.push(same(g, "reduce", [3], [x], { fn, outer: 1, size: 3, inner: 3 }));
  }
  await Promise.all(runs);
});

test("matmul matches the CPU for every transpose, ragged sizes and batch strides", async (g) => {
  const sizes = [[1, 1, 1], [3, 17, 129], [17, 3, 5], [8, 8, 8], [33, 65, 17], [64, 64, 64], [4, 8, 12], [9, 12, 0]];
  sizes.push([5, 300, 9], [20, 520, 36], [2, 1030, 3]); // workgroups of 32 lanes, several column blocks
  sizes.push([12, 20, 16], [7, 36, 8]); // vec4 reads, N a multiple of 4 but not of the 16 columns per invocation
  // Operands copied into textures (rows of 64-multiples): both, b alone, a alone; transposed, read as stored.
  sizes.push([40, 192, 128], [9, 64, 132], [9, 20, 64], [128, 20, 36], [64, 200, 64]);
  const runs: Promise<unknown>[] = [];
  for (const [m, n, k] of sizes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [batch, sa, sb] of [[1, 0, 0], [3, m * k, k * n], [2, 0, k * n], [2, m * k, 0]]) {
          const a = rand(Math.max(1, batch * m * k, m * k)), b = rand(Math.max(1, batch * k * n, k * n));
          const attrs = { batch, m, n, k, transA, transB, aBatchStride: sa, bBatchStride: sb };
          runs.push(same(g, "matmul", [batch * m * n], [a, b], attrs, k === 0 ? {} : { norm: 1e-5 }));
        }
      }
    }
  }
  await Promise.all(runs);
});

test("matmul past the texture extent falls back to the buffer kernel", async (g) => {
  // llvmpipe's maxTextureDimension2D is 16384: N/4 texels, M rows and batch·M rows each exceed it once.
  const cases = [[2, 65545, 3, 1, 0], [16390, 5, 2, 1, 0], [8200, 6, 3, 2, 8200 * 3]];
  const limit = 16384;
  const runs: Promise<unknown>[] = [];
  for (const [m, n, k, batch, sa] of cases) {
    for (const transB of [false, true]) {
      const attrs = { batch, m, n, k, transA: false, transB, aBatchStride: sa, bBatchStride: 0 };
      assertEquals(matmulTextures(attrs, limit), null);
      runs.push(same(g, "matmul", [batch * m * n], [rand(batch * m * k), rand(k * n)], attrs, { norm: 1e-5 }));
    }
  }
  const inside = { batch: 4, m: 4096, n: 1024, k: 256, transA: true, transB: true, aBatchStride: 0, bBatchStride: 1 };
  const geo = matmulTextures(inside, limit)!;
  // a keeps its stored (K, M) layout (copied, M a multiple of 64); b's overlapping batches (stride 1) are packed.
  assertEquals(geo.layout, { aByM: true, bByK: false });
  assertEquals([geo.kt, geo.a.width, geo.a.batches * geo.a.hpb, geo.b.width, geo.b.batches * geo.b.hpb], [
    64,
    1024,
    256,
    256,
    1024,
  ]);
  await Promise.all(runs);
});

test("strided copies and scatterStrided match the CPU (permute, slice, expand, concat, i32)", async (g) => {
  const x = rand(2 * 3 * 4 * 5);
  const runs: Promise<unknown>[] = [
    same(g, "strided", [120], [x], { shape: [5, 4, 3, 2], strides: [1, 5, 20, 60], offset: 0 }), // permute
    same(g, "strided", [12], [x], { shape: [2, 3, 2], strides: [60, 20, 1], offset: 3 }), // slice
    same(g, "strided", [40], [x.subarray(0, 5)], { shape: [8, 5], strides: [0, 1], offset: 0 }), // expand
    same(g, "strided", [1], [x], { shape: [], strides: [], offset: 7 }),
    same(g, "strided", [new Int32Array(6)], [ints([1, 2, 3, -4, 5, 6])], { shape: [3, 2], strides: [1, 3], offset: 0 }),
    same(g, "strided", [128], [rand(128)], {
      shape: [2, 2, 2, 2, 2, 2, 2],
      strides: [1, 2, 4, 8, 16, 32, 64],
      offset: 0,
    }),
    same(g, "scatterStrided", [rand(24)], [rand(24), rand(12)], { shape: [4, 3], strides: [6, 1], offset: 3 }, {
      inPlace: 1,
    }),
    same(g, "scatterStrided", [rand(17)], [rand(17), rand(5)], { shape: [5], strides: [3], offset: 2 }, { inPlace: 1 }),
  ];
  await Promise.all(runs);
});

test("gather and scatterAdd match the CPU, with repeated and out-of-range ids", async (g) => {
  const runs: Promise<unknown>[] = [];
  for (const [rows, cols, vocab] of [[1, 1, 1], [3, 17, 5], [129, 3, 7], [200, 70, 11], [5, 130, 300]]) {
    const ids = ints(
      Array.from({ length: rows }, (_, r) => (r % 13 === 12 ? -1 : r % 17 === 16 ? vocab : (r * 7) % vocab)),
    );
    runs.push(same(g, "gather", [rows * cols], [rand(vocab * cols), ids], { rows, cols, vocab }));
    runs.push(same(g, "scatterAdd", [vocab * cols], [rand(rows * cols), ids], { rows, cols, vocab }, { rtol: 1e-5 }));
  }
  await Promise.all(runs);
});

test("softmax and its backward match the CPU: big logits, -inf masks, NaN and +inf rows", async (g) => {
  const runs: Promise<unknown>[] = [];
  // Rows up to 256 columns take the one-invocation-per-row kernels, longer ones the workgroup kernels; the backward
  // of short rows of a multiple of 64 columns reads textures.
  for (const [rows, cols] of [[1, 1], [3, 17], [2, 129], [3, 256], [3, 257], [4, 1000], [70, 128]]) {
    const x = rand(rows * cols, -4, 4);
    runs.push(same(g, "softmax", [x.length], [x], { rows, cols }));
    runs.push(same(g, "softmax", [x.length], [x.map((v) => v * 2500)], { rows, cols }));
    const [y] = await run(cpu, "softmax", [x.length], [x], { rows, cols });
    runs.push(same(g, "softmaxBackward", [x.length], [y, rand(x.length)], { rows, cols }, { norm: 1e-5 }));
  }
  const ninf = -Infinity;
  const x = new Float32Array([1e4, -1e4, 0, ninf, 3, ninf, ninf, ninf, ninf, ninf, 1, NaN, 2, 0, 1, Infinity, 2, ninf]);
  runs.push(same(g, "softmax", [18], [x], { rows: 6, cols: 3 }));
  const long = new Float32Array(6 * 300).fill(0.5);
  long.set([ninf], 0);
  long.fill(ninf, 300, 600);
  long[600] = NaN;
  long[900] = Infinity;
  runs.push(same(g, "softmax", [long.length], [long], { rows: 6, cols: 300 }));
  // The same specials in rows of 64 (the texture kernel, four columns a load), one NaN or +∞ mid-texel.
  const tex = new Float32Array(6 * 64).fill(0.5);
  tex.set([ninf], 0);
  tex.fill(ninf, 64, 128);
  tex[130] = NaN;
  tex[197] = Infinity;
  runs.push(same(g, "softmax", [tex.length], [tex], { rows: 6, cols: 64 }));
  // Fused causal mask: square, more keys than queries, fewer (the first rows see nothing: NaN), Tq = 1; rows of 64
  // and 128 read textures, the causal edge inside a texel.
  const causal = [[12, 3, 3], [8, 70, 4], [10, 3, 5], [3, 129, 1], [6, 130, 130], [8, 300, 4], [6, 300, 301]];
  causal.push([128, 64, 64], [10, 128, 5], [12, 64, 70]);
  for (const [rows, cols, causalTq] of causal) {
    const xc = rand(rows * cols, -4, 4);
    runs.push(same(g, "softmax", [xc.length], [xc], { rows, cols, causalTq }));
  }
  await Promise.all(runs);
});

test("layerNorm forward and backward match the CPU", async (g) => {
  const runs: Promise<unknown>[] = [];
  // vec4 (C % 4 = 0) and scalar kernels; 129 and 130 rows span three dg/db row blocks, the last one partial; C a
  // multiple of 64 runs the forward from textures (33 rows: a partial workgroup).
  const shapes = [[1, 1], [1, 4], [3, 17], [5, 129], [64, 256], [2, 3000], [130, 12], [129, 7], [33, 128], [1, 64]];
  for (const [rows, cols] of shapes) {
    const x = rand(rows * cols, -3, 3).map((v) => v + 10), gm = rand(cols, 0.5, 1.5), bt = rand(cols);
    runs.push(
      same(g, "layerNorm", [rows * cols, rows, rows], [x, gm, bt], { rows, cols, eps: 1e-5 }, {
        rtol: 1e-4,
        atol: 1e-5,
      }),
    );
    const [, mean, rstd] = await run(cpu, "layerNorm", [rows * cols, rows, rows], [x, gm, bt], {
      rows,
      cols,
      eps: 1e-5,
    });
    const ins = [rand(rows * cols), x, gm, mean, rstd];
    runs.push(same(g, "layerNormBackward", [rows * cols, cols, cols], ins, { rows, cols }, { norm: 1e-5 }));
  }
  await Promise.all(runs);
});

test("crossEntropy forward and backward match the CPU: ±1e4 logits, -inf, bad targets", async (g) => {
  const runs: Promise<unknown>[] = [];
  for (const [rows, cols, scale] of [[1, 1, 1], [3, 17, 1], [5, 129, 1e4], [7, 1000, 3]]) {
    const x = rand(rows * cols, -1, 1).map((v) => v * scale);
    const t = ints(Array.from({ length: rows }, (_, r) => (r === 3 ? cols : r === 4 ? -1 : (r * 5) % cols)));
    const [, lse] = await same(g, "crossEntropy", [rows, rows], [x, t], { rows, cols }, { rtol: 1e-5, atol: 1e-5 });
    runs.push(same(g, "crossEntropyBackward", [rows * cols], [x, t, lse, rand(rows, 0.5, 2)], { rows, cols }));
  }
  const x = new Float32Array([0, -Infinity, 2, -Infinity, -Infinity, -Infinity, 1, NaN, 0, 1, Infinity, 0]);
  runs.push(same(g, "crossEntropy", [4, 4], [x, ints([0, 1, 2, 0])], { rows: 4, cols: 3 }));
  await Promise.all(runs);
});

test("dropout is bit-identical to the CPU for every seed and p, dropped NaN, ±∞ and −0 included", async (g) => {
  for (const n of [1, 17, 100003]) {
    const x = rand(n, -2, 2);
    x.set([NaN, Infinity, -Infinity, -0, 0, -1].slice(0, n));
    for (const [p, s] of [[0, 0], [0.1, 12345], [0.5, 0xffffffff], [0.9, -7], [1, 3], [1 / 3, 2 ** 31]]) {
      const [got] = await run(g, "dropout", [n], [x], { p, seed: s });
      const [want] = await run(cpu, "dropout", [n], [x], { p, seed: s });
      // NaN payloads may differ between devices: compare NaN-ness, and every other element by its bits.
      const bits = (a: Data) => Array.from(new Uint32Array(a.buffer), (u) => (u & 0x7fffffff) > 0x7f800000 ? -1 : u);
      assertEquals(bits(got), bits(want));
    }
  }
});

test("adamw matches the CPU over several steps, in place", async (g) => {
  let state = [rand(129), rand(129, -0.1, 0.1), rand(129, 0, 0.01)];
  for (let step = 1; step <= 3; step++) {
    const a = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, step };
    const grad = rand(129);
    state = (await same(g, "adamw", state, [...state, grad], a, { inPlace: 3, rtol: 1e-5 })) as Float32Array[];
  }
});

test("batching, aliasing, size 0, large grids and memory accounting behave", async (g) => {
  const x = g.alloc(4, "f32"), y = g.alloc(4, "f32"), z = g.alloc(4, "f32");
  g.write(x, new Float32Array([1, 2, 3, 4]));
  g.dispatch("unary", [y], [x], { fn: "neg" });
  g.write(x, new Float32Array([5, 6, 7, 8])); // must land after the queued neg
  g.dispatch("binary", [z], [x, y], { fn: "add", shape: [4], aStrides: [1], bStrides: [1] });
  for (let i = 0; i < 1100; i++) g.dispatch("affine", [x], [x], { scale: 1, bias: 1 }); // over the batch limit
  assertEquals(await g.read(y), new Float32Array([-1, -2, -3, -4]));
  assertEquals(await g.read(z), new Float32Array([4, 4, 4, 4]));
  assertEquals(await g.read(x), new Float32Array([1105, 1106, 1107, 1108]));
  const id = g.alloc(2, "i32");
  g.write(id, new Float32Array([3.7, -2]));
  assertEquals(await g.read(id), ints([3, -2]));
  g.free(id);
  const e = g.alloc(0, "f32");
  g.write(e, new Float32Array(0));
  g.dispatch("unary", [e], [e], { fn: "exp" });
  assertEquals(await g.read(e), new Float32Array(0));
  const n = 65535 * 2 + 6; // elementwise: many grid-stride rounds; reduce: one workgroup per row, a 2-D grid
  const big = g.alloc(n, "f32"), sums = g.alloc(n / 2, "f32");
  g.dispatch("fill", [big], [], { value: 2 });
  g.dispatch("affine", [big], [big], { scale: 3, bias: 1 });
  g.dispatch("reduce", [sums], [big], { fn: "sum", outer: n / 2, size: 2, inner: 1 });
  assert.ok((await g.read(big) as Float32Array).every((v) => v === 7), "every element is written");
  assert.ok((await g.read(sums) as Float32Array).every((v) => v === 14), "every row of a 2-D grid is reduced");
  g.free(sums);
  const before = g.memory();
  for (const b of [x, y, z, e, big]) g.free(b);
  const after = g.memory();
  assertEquals(after.liveBuffers, before.liveBuffers - 5);
  const freed = 4 * 16 + Math.ceil((n * 4) / 16) * 16;
  assertEquals(before.liveBytes - after.liveBytes, freed);
  assertEquals(after.pooledBytes - before.pooledBytes, freed);
  assertThrows(() => g.dispatch("unary", [x], [y], { fn: "neg" }), /freed buffer/);
  assertThrows(() => g.alloc(2 ** 31, "f32"), /Cannot allocate 2147483648 elements/);
  assertThrows(() => g.dispatch("unary", [g.alloc(1, "f32")], [], { fn: "neg" }), /takes 1 outputs and 1 inputs/);
});

test("a pool capped at 0 bytes destroys freed buffers without breaking cached bind groups", async () => {
  const g = await createWebGpuBackend({ maxPooledBytes: 0 });
  const keep = g.alloc(8, "f32");
  g.dispatch("fill", [keep], [], { value: 1 });
  for (let i = 0; i < 3; i++) {
    const t = g.alloc(8, "f32");
    g.dispatch("affine", [t], [keep], { scale: 2, bias: i });
    g.dispatch("binary", [keep], [keep, t], { fn: "add", shape: [8], aStrides: [1], bStrides: [1] });
    g.free(t);
    await g.read(keep); // flush: t is destroyed, and with it every cached bind group
  }
  assertEquals(await g.read(keep), new Float32Array(8).fill(32)); // 1 → 3 → 10 → 32
  assert.ok(g.memory().pooledBytes <= 32, "only the last read's staging buffer waits for the next trim");
  g.destroy();
});

test("adapter info and provider errors are reported", async (g) => {
  assertEquals(typeof g.adapterInfo.isFallbackAdapter, "boolean");
  assertEquals(g.isFallbackAdapter, g.adapterInfo.isFallbackAdapter);
  await assertRejects(() => createWebGpuBackend({ provider: "metal" as "deno" }), /Unknown WebGPU provider "metal"/);
});

/** Compile every catalogued shader on `device`; returns "key: message" for each failure. */
async function compileAll(device: GPUDevice): Promise<string[]> {
  const failures: string[] = [];
  for (const { key, source } of shaderCatalog()) {
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code: source });
    device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    const e = await device.popErrorScope();
    if (e) failures.push(`${key}: ${e.message.slice(0, 300)}`);
  }
  return failures;
}

test("every shader variant compiles (naga, through Deno)", async () => {
  const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
  assertEquals(await compileAll(device), []);
  device.destroy();
});

const dawn = Deno.env.get("NK_TEST_DAWN");
if (!dawn) console.log(`webgpu_test: Dawn tests skipped (set NK_TEST_DAWN=1 to fetch ${DAWN_PACKAGE}, ~130 MB)`);
/**
 * Dawn aborts in a process where Deno's own WebGPU already runs, or where a second Dawn instance starts, so each
 * Dawn check runs in its own child process and prints one JSON line.
 */
async function child(code: string): Promise<Record<string, unknown>> {
  const url = (p: string) => import.meta.resolve(`../../lib/backend/webgpu/${p}`);
  const head = `import { createWebGpuBackend, DAWN_PACKAGE } from "${url("mod.ts")}";
import { shaderCatalog } from "${url("catalog.ts")}";\n`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", head + code], stderr: "null" }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  assert.ok(line?.startsWith("{"), `child process printed no result (exit code ${out.code})`);
  return JSON.parse(line);
}

Deno.test({
  name: "webgpu provider dawn loads, or explains why not",
  ignore: !dawn,
  fn: async () => {
    const { error } = await child(`let error = "";
try { (await createWebGpuBackend({ provider: "dawn" })).destroy(); } catch (e) { error = e.message; }
console.log(JSON.stringify({ error })); Deno.exit(0);`);
    assert.ok(error === "" || /provider "dawn"/.test(error as string), error as string);
  },
});

Deno.test({
  name: "webgpu every shader variant compiles (Tint, through Dawn's null backend)",
  ignore: !dawn,
  fn: async () => {
    const { failures } = await child(`const { create } = await import(DAWN_PACKAGE);
const device = await (await create(["backend=null"]).requestAdapter()).requestDevice(); // validates, runs nothing
const failures = [];
for (const { key, source } of shaderCatalog()) {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: source });
  device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const e = await device.popErrorScope();
  if (e) failures.push(key + ": " + e.message.slice(0, 300));
}
console.log(JSON.stringify({ failures })); Deno.exit(0);`);
    assertEquals(failures, []);
  },
});
