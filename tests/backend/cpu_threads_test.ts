/**
 * The CPU backend's worker threads: every splittable kernel run over two threads (through `runSplit`, which must
 * report that it split) gives what the one-thread kernel gives, bit for bit (LayerNorm's dg/db, summed per part,
 * to rounding), both for the TypeScript kernels on shared arrays and for the SIMD kernels on the heap; arrays
 * that are not shared, and small ops, stay on one thread.
 */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import type { OpAttrs, OpName } from "../../lib/backend/backend.ts";
import { createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import type { Arr } from "../../lib/backend/cpu/elementwise.ts";
import { MIN_PART_ELEMENTS, readyWorkers, runSplit, sharedArray } from "../../lib/backend/cpu/threads.ts";
import { loadBlas } from "../../lib/backend/cpu/blas.ts";
import { gemmPlan, runMatmul } from "../../lib/backend/cpu/matmul_parts.ts";
import { allocate } from "../../lib/backend/cpu/simd/heap.ts";
import { simdApplies } from "../../lib/backend/cpu/simd/ops.ts";
import { Rng } from "../../lib/core/rng.ts";

const rng = new Rng(11);
const rand = (n: number, lo = -3, hi = 3) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
const ids = (n: number, v: number) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * v));

// Workers start asynchronously; wait (bounded) for one before testing that calls split.
const t0 = Date.now();
while (readyWorkers(1) < 1) {
  if (Date.now() - t0 > 20_000) throw new Error("No CPU worker thread became ready in 20 s");
  await new Promise((r) => setTimeout(r, 20));
}

const ones = { ts: createCpuBackend({ threads: 1, simd: false }), simd: createCpuBackend({ threads: 1 }) };
const MODES = ["ts", "simd"] as const;
/** Ops that ran on SIMD kernels in the "simd" mode (the last test checks the list). */
const simdRan = new Set<string>();

/**
 * Run op on one thread and split over two, with the TypeScript kernels (`ts`: shared arrays) or the SIMD ones
 * where they apply (`simd`: heap arrays); return both outputs.
 */
function both<K extends OpName>(
  op: K,
  attrs: OpAttrs[K],
  outSizes: number[],
  ins: (Float32Array | Int32Array)[],
  mode: typeof MODES[number],
) {
  const one = ones[mode];
  const inB = ins.map((x) => {
    const b = one.alloc(x.length, x instanceof Int32Array ? "i32" : "f32");
    one.write(b, x);
    return b;
  });
  const outB = outSizes.map((n, k) => {
    const b = one.alloc(n, "f32");
    one.write(b, op === "adamw" ? (ins[k] as Float32Array) : new Float32Array(n));
    return b;
  });
  one.dispatch(op, outB, inB, attrs);
  const want = outB.map((b) => one.readExact(b) as Float32Array);
  const share = (x: Float32Array | Int32Array): Arr => {
    const kind = x instanceof Int32Array ? "i32" : "f32";
    const s = mode === "simd" ? allocate(kind, x.length)! : sharedArray(kind, x.length);
    s.set(x);
    return s;
  };
  const inS = ins.map(share);
  const outS = outSizes.map((n, k) => (op === "adamw" ? inS[k] : share(new Float32Array(n))));
  const simd = mode === "simd" && simdApplies(op, attrs, outS, inS);
  if (simd) simdRan.add(op);
  assert(runSplit(2, op, attrs, outS, inS, false, simd, MIN_PART_ELEMENTS), `${op} did not split over two threads`);
  return { got: outS as Float32Array[], want };
}

/** Bit-equal (NaN matching NaN), naming the first index that differs. */
const same = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => assertClose(got, want, 0, 0, what);

const R = 512, C = 257; // 131 584 elements: 2 parts of ≥ MIN_PART_ELEMENTS
const N = R * C;

for (const mode of MODES) {
  Deno.test(`threads (${mode}): elementwise ops split bit-identically (unary, affine, dropout, binary with broadcasts and permutes)`, () => {
    for (const fn of ["gelu", "exp", "tanh"] as const) {
      const { got, want } = both("unary", { fn }, [N], [rand(N)], mode);
      same(got[0], want[0], fn);
    }
    const af = both("affine", { scale: -1.5, bias: 0.25 }, [N], [rand(N)], mode);
    same(af.got[0], af.want[0], "affine");
    const dx = rand(N);
    const dr = both("dropout", { p: 0.3, seed: 0x9e3779b9 }, [N], [dx], mode);
    same(dr.got[0], dr.want[0], "dropout");
    assert(dr.got[0].some((v, i) => v === 0 && dx[i] !== 0) && dr.got[0].some((v, i) => v !== dx[i] && v !== 0));
    const cases: [number[], number[], number[], number, number][] = [
      [[R, C], [C, 1], [C, 1], N, N], // same shape
      [[R, C], [C, 1], [0, 1], N, C], // row broadcast (a bias)
      [[R, C], [1, 0], [C, 1], R, N], // column broadcast
      [[C, R], [1, C], [R, 1], N, N], // a read transposed
      [[4, R / 4, C], [0, C, 1], [C * R / 4, 0, 1], N / 4, 4 * C], // rank 3, broadcast on axis 0
      [[4, R / 4, C], [R / 4 * C, C, 1], [0, 0, 1], N, C], // rank 3, a bias
      [[4, R / 4, C], [R / 4 * C, C, 1], [0, 0, 0], N, 1], // rank 3, a scalar
      [[N], [1], [1], N, N], // rank 1: split at any element
    ];
    for (const fn of ["add", "mul", "div", "geluBackward", "max"] as const) {
      for (const [shape, aStrides, bStrides, na, nb] of cases) {
        const { got, want } = both("binary", { fn, shape, aStrides, bStrides }, [N], [rand(na), rand(nb)], mode);
        same(got[0], want[0], `${fn} ${JSON.stringify(shape)}`);
      }
    }
  });

  Deno.test(`threads (${mode}): strided copies split bit-identically`, () => {
    const { got, want } = both("strided", { shape: [C, R], strides: [1, C], offset: 0 }, [N], [rand(N)], mode);
    same(got[0], want[0], "permute");
    const sl = both("strided", { shape: [R - 2, C - 1], strides: [C, 1], offset: C + 1 }, [(R - 2) * (C - 1)], [
      rand(N),
    ], mode);
    same(sl.got[0], sl.want[0], "slice");
  });

  Deno.test(`threads (${mode}): row kernels split bit-identically; causal softmax splits at whole sequences`, () => {
    for (const causalTq of [undefined, 16, 7]) {
      const rows = causalTq ? 7 * 16 * 16 : R, cols = causalTq ? 300 : C;
      const { got, want } = both("softmax", { rows, cols, causalTq }, [rows * cols], [rand(rows * cols)], mode);
      same(got[0], want[0], `softmax causalTq ${causalTq}`);
    }
    const sb = both("softmaxBackward", { rows: R, cols: C }, [N], [rand(N, 0, 1), rand(N)], mode);
    same(sb.got[0], sb.want[0], "softmaxBackward");
    const ln = both("layerNorm", { rows: R, cols: C, eps: 1e-5 }, [N, R, R], [rand(N), rand(C), rand(C)], mode);
    ln.got.forEach((g, k) => same(g, ln.want[k], `layerNorm out ${k}`));
    const [mean, rstd] = [ln.want[1], ln.want[2]];
    const lb = both(
      "layerNormBackward",
      { rows: R, cols: C },
      [N, C, C],
      [rand(N), rand(N), rand(C), mean, rstd],
      mode,
    );
    same(lb.got[0], lb.want[0], "layerNorm dx");
    assertClose(lb.got[1], lb.want[1], 1e-6, 1e-6, "layerNorm dg");
    assertClose(lb.got[2], lb.want[2], 1e-6, 1e-6, "layerNorm db");
    const t = ids(R, C), lse = rand(R, 3, 4), dl = rand(R);
    const ce = both("crossEntropyBackward", { rows: R, cols: C }, [N], [rand(N), t, lse, dl], mode);
    same(ce.got[0], ce.want[0], "crossEntropyBackward");
    const cf = both("crossEntropy", { rows: R, cols: C }, [R, R], [rand(N), t], mode);
    cf.got.forEach((g, k) => same(g, cf.want[k], `crossEntropy out ${k}`));
  });

  Deno.test(`threads (${mode}): reductions split over rows or, with one outer row, over columns, bit-identically`, () => {
    for (const fn of ["sum", "max"] as const) {
      for (const [outer, size, inner] of [[1, R, C], [R, C, 1], [4, R / 4, C], [R / 2, 2, C]]) {
        const x = rand(N);
        x[7] = NaN;
        const { got, want } = both("reduce", { fn, outer, size, inner }, [outer * inner], [x], mode);
        same(got[0], want[0], `${fn} (${outer}, ${size}, ${inner})`);
      }
    }
  });

  Deno.test(`threads (${mode}): AdamW splits bit-identically, in place`, () => {
    const p = rand(N), m = rand(N, -0.1, 0.1), v = rand(N, 0, 0.1), g = rand(N);
    const attrs = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, step: 3 };
    const { got, want } = both("adamw", attrs, [N, N, N], [p, m, v, g], mode);
    got.forEach((x, k) => same(x, want[k], `adamw out ${k}`));
  });
}

Deno.test("threads (simd): the SIMD kernels ran for every op that has one", () => {
  const expected = ["unary", "affine", "binary", "softmax", "softmaxBackward", "layerNorm", "layerNormBackward"]
    .concat(["crossEntropy", "crossEntropyBackward", "reduce", "adamw", "strided"]);
  assertEquals([...simdRan].sort(), expected.sort());
});

Deno.test("threads: small ops, unshared arrays and one-thread backends do not split", () => {
  const small = sharedArray("f32", MIN_PART_ELEMENTS), out = sharedArray("f32", MIN_PART_ELEMENTS);
  assertEquals(runSplit(2, "unary", { fn: "exp" }, [out], [small], false), false);
  const big = new Float32Array(4 * MIN_PART_ELEMENTS);
  assertEquals(runSplit(2, "unary", { fn: "exp" }, [big], [big], false), false);
  const sbig = sharedArray("f32", 4 * MIN_PART_ELEMENTS);
  assertEquals(runSplit(1, "unary", { fn: "exp" }, [sbig], [sbig], false), false);
  assertEquals(runSplit(2, "matmul", {} as OpAttrs["matmul"], [sbig], [sbig, sbig], false), false);
});

Deno.test("threads (simd): a part needs ~65 µs of work by the op's cost, so cheap ops split later than GELU", () => {
  const x = allocate("f32", N)!, y = allocate("f32", N)!;
  const add = { fn: "add" as const, shape: [R, C], aStrides: [C, 1], bStrides: [C, 1] };
  assertEquals(runSplit(2, "binary", add, [y], [x, x], false, true), false); // 0.4 ns × 65 792 per part < 65 µs
  assertEquals(runSplit(2, "unary", { fn: "gelu" }, [y], [x], false, true), true); // 1.5 ns × 65 792 ≥ 65 µs
});

const blas = loadBlas();

/** op(A)·op(B) per batch in float64 (the reference for the cut products). */
function product(a: OpAttrs["matmul"], x: Float32Array, w: Float32Array): Float64Array {
  const out = new Float64Array(a.batch * a.m * a.n);
  for (let b = 0; b < a.batch; b++) {
    for (let i = 0; i < a.m; i++) {
      for (let j = 0; j < a.n; j++) {
        let s = 0;
        for (let p = 0; p < a.k; p++) {
          const xa = x[b * a.aBatchStride + (a.transA ? p * a.m + i : i * a.k + p)];
          s += xa * w[b * a.bBatchStride + (a.transB ? j * a.k + p : p * a.n + j)];
        }
        out[(b * a.m + i) * a.n + j] = s;
      }
    }
  }
  return out;
}

Deno.test({
  name: "threads: matrix products are cut by shape, not threads: the same bits on 1 and 2 threads, all transposes",
  ignore: !("gemm" in blas),
  fn() {
    if (!("gemm" in blas)) return;
    const cases: [string, OpAttrs["matmul"]][] = [];
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const t = { transA, transB, aBatchStride: 0, bBatchStride: 0 };
      cases.push(["rows", { batch: 1, m: 600, n: 40, k: 96, ...t }]); // blocks of 256, 256 and 88 rows
      cases.push(["cols", { batch: 1, m: 64, n: 600, k: 64, ...t }]); // blocks of 256, 256 and 88 columns
      cases.push(["batch", { batch: 5, m: 33, n: 17, k: 40, ...t, aBatchStride: 33 * 40 }]); // B shared
      cases.push(["one", { batch: 1, m: 20, n: 30, k: 40, ...t }]);
    }
    for (const [axis, a] of cases) {
      assertEquals(gemmPlan(a).axis, axis, `plan of ${JSON.stringify(a)}`);
      const x = rand(a.batch * a.m * a.k), w = rand(a.n * a.k * (a.bBatchStride ? a.batch : 1));
      const heap = (v: Float32Array) => {
        const h = allocate("f32", v.length)! as Float32Array;
        h.set(v);
        return h;
      };
      const [xs, ws] = [heap(x), heap(w)];
      const one = heap(new Float32Array(a.batch * a.m * a.n)), two = heap(new Float32Array(a.batch * a.m * a.n));
      assertEquals(runMatmul(1, a, one, xs, ws, blas), 1);
      const parts = runMatmul(2, a, two, xs, ws, blas, 1);
      assertEquals(parts, axis === "one" ? 1 : 2, `parts of ${JSON.stringify(a)}`);
      same(two, one, `matmul ${JSON.stringify(a)}, 2 threads vs 1`);
      // Values in ±3 over k ≤ 96 terms: float32 rounding of partial sums up to ~40 (ulp 3.8e-6) bounds the error.
      assertClose(one, product(a, x, w), 1e-5, 2e-4, `matmul ${JSON.stringify(a)} vs float64`);
      // Outside the heap the units run on this thread, the same calls.
      const plain = new Float32Array(a.batch * a.m * a.n);
      assertEquals(runMatmul(2, a, plain, x, w, blas, 1), 1);
      same(plain, one, `matmul ${JSON.stringify(a)} on plain arrays`);
    }
    const h = allocate("f32", 64)! as Float32Array;
    const tiny = { batch: 2, m: 4, n: 4, k: 4, transA: false, transB: false, aBatchStride: 16, bBatchStride: 16 };
    assertEquals(runMatmul(2, tiny, h, h.subarray(0, 32), h.subarray(32), blas), 1, "below the least work a part");
    assertThrows(() => runMatmul(1, { ...tiny, m: 9 }, h, h, h, blas), /runs past an array/);
    const zeros = new Float32Array(32).fill(7);
    runMatmul(2, { ...tiny, k: 0 }, zeros, h, h, blas);
    assert(zeros.every((v) => v === 0), "k = 0 gives zeros");
  },
});

Deno.test("threads: a training step gives the same loss on one and two threads", async () => {
  const { resolveConfig } = await import("../../lib/train/config.ts");
  const { makeTrainStep } = await import("../../bench/step.ts");
  const cfg = resolveConfig([{ preset: "tiny", arch: "normformer", batchSize: 16 }]);
  const losses: number[][] = [];
  for (const [threads, simd] of [[1, false], [2, false], [1, true], [2, true]] as const) {
    const step = makeTrainStep(createCpuBackend({ threads, simd }), cfg);
    const l: number[] = [];
    for (let i = 0; i < 3; i++) l.push(await step.run());
    step.dispose();
    losses.push(l);
  }
  assertClose(losses[1], losses[0], 1e-5, 0, "losses, TypeScript kernels");
  assertClose(losses[3], losses[2], 1e-5, 0, "losses, SIMD kernels");
  assertClose(losses[2], losses[0], 1e-4, 0, "losses, SIMD vs TypeScript");
});
