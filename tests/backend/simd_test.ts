/**
 * The CPU backend's WebAssembly SIMD kernels (lib/backend/cpu/simd): every op that has one, on odd sizes and
 * special values, against the float64 oracle, with a check that the SIMD path really ran; the heap allocator;
 * and the committed module against its C source (digest always, a rebuild where clang is installed).
 */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import type { OpAttrs, OpName } from "../../lib/backend/backend.ts";
import { createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import { allocate, heapStats, KERNELS_SOURCE_SHA256, owns, release } from "../../lib/backend/cpu/simd/heap.ts";
import { simdApplies } from "../../lib/backend/cpu/simd/ops.ts";
import { compileKernels, renderModule } from "../../lib/backend/cpu/simd/build.ts";
import { sha256Hex } from "../../lib/data/hash.ts";
import { Rng } from "../../lib/core/rng.ts";

const simd = createCpuBackend({ threads: 1 });
const oracle = createCpuBackend({ float64: true });
const rng = new Rng(5);

/** Values with the specials every kernel must carry through: NaN, ±∞, denormals, zeros, large magnitudes. */
function values(n: number, specials: boolean, lo = -4, hi = 4): Float32Array {
  const out = Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
  if (specials) {
    const pick = [NaN, Infinity, -Infinity, 1e-41, -0, 60, -60, 1e20];
    for (let i = 0; i < n; i += 7) out[i] = pick[(i / 7) % pick.length];
  }
  return out;
}

/** Run op on the SIMD backend (asserting the SIMD kernel applies) and on the oracle; compare every output. */
function check<K extends OpName>(
  op: K,
  attrs: OpAttrs[K],
  outSizes: number[],
  ins: (Float32Array | Int32Array)[],
  rtol = 2e-6,
  atol = 2e-6,
) {
  const run = (be: typeof simd, exact: boolean) => {
    const i = ins.map((x) => {
      const b = be.alloc(x.length, x instanceof Int32Array ? "i32" : "f32");
      be.write(b, x);
      return b;
    });
    const o = outSizes.map((n, k) => {
      const b = be.alloc(n, "f32");
      be.write(b, op === "adamw" ? ins[k] as Float32Array : new Float32Array(n));
      return b;
    });
    if (!exact) {
      const arrs = (bs: typeof o) => bs.map((b) => (b as unknown as { data: Float32Array }).data);
      assert.ok(simdApplies(op, attrs, arrs(o), arrs(i)), `${op} ${JSON.stringify(attrs)}: SIMD kernel not used`);
    }
    be.dispatch(op, op === "adamw" ? i.slice(0, 3) : o, i, attrs);
    return (op === "adamw" ? i.slice(0, 3) : o).map((b) => be.readExact(b));
  };
  // The oracle's float64 results rounded to float32, as any float32 kernel must round them (1e20·1e20 is +∞).
  const got = run(simd, false), want = run(oracle, true).map((w) => w.map(Math.fround));
  got.forEach((g, k) => assertClose(g, want[k], rtol, atol, `${op} ${JSON.stringify(attrs)} out ${k}`));
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 31, 130];

Deno.test("simd: element-wise kernels (gelu, exp, affine) match the oracle on every tail length and specials", () => {
  for (const n of SIZES) {
    check("unary", { fn: "gelu" }, [n], [values(n, true)], 2e-7, 5e-7);
    check("unary", { fn: "exp" }, [n], [values(n, true, -106, 89)], 3e-7, 2e-45);
    check("affine", { scale: -1.5, bias: 0.25 }, [n], [values(n, true)], 1e-7, 1e-44);
  }
});

Deno.test("simd: binary arithmetic and GELU's backward, same shape, a broadcast row and a scalar", () => {
  for (const fn of ["add", "sub", "mul", "div", "geluBackward"] as const) {
    // GELU's backward scales an absolute error of ≤ 3.2e-7 in gelu' by dy: keep dy within ±4 there.
    const [rtol, atol] = fn === "geluBackward" ? [0, 2e-6] : [1e-7, 1e-44];
    const dySpecials = fn !== "geluBackward";
    for (const c of [1, 3, 4, 9, 130]) {
      const r = 3;
      check(
        "binary",
        { fn, shape: [r, c], aStrides: [c, 1], bStrides: [c, 1] },
        [r * c],
        [
          values(r * c, true),
          values(r * c, dySpecials),
        ],
        rtol,
        atol,
      );
      check(
        "binary",
        { fn, shape: [2, r, c], aStrides: [r * c, c, 1], bStrides: [0, 0, 1] },
        [2 * r * c],
        [
          values(2 * r * c, true),
          values(c, false),
        ],
        rtol,
        atol,
      );
      check(
        "binary",
        { fn, shape: [r, c], aStrides: [c, 1], bStrides: [0, 0] },
        [r * c],
        [
          values(r * c, false),
          values(1, false),
        ],
        rtol,
        atol,
      );
      check(
        "binary",
        { fn, shape: [r * c], aStrides: [0], bStrides: [1] },
        [r * c],
        [
          values(1, false),
          values(r * c, dySpecials),
        ],
        rtol,
        atol,
      );
    }
  }
});

Deno.test("simd: strided copies (permute, slice, expand, reversed-free steps) of rank 1 to 6", () => {
  const x = values(2 * 3 * 4 * 5, true);
  check("strided", { shape: [5, 4, 3, 2], strides: [1, 5, 20, 60], offset: 0 }, [120], [x], 0, 0); // permute
  check("strided", { shape: [2, 4, 3, 5], strides: [60, 5, 20, 1], offset: 0 }, [120], [x], 0, 0); // head split
  check("strided", { shape: [3, 7], strides: [9, 1], offset: 11 }, [21], [x], 0, 0); // slice
  check("strided", { shape: [4, 6], strides: [0, 1], offset: 3 }, [24], [x], 0, 0); // expand
  check("strided", { shape: [37], strides: [3], offset: 2 }, [37], [x], 0, 0); // rank 1, stepped
  check("strided", { shape: [2, 1, 2, 3, 2, 5], strides: [60, 0, 30, 10, 5, 1], offset: 0 }, [120], [x], 0, 0);
});

Deno.test("simd: sums over rows (a bias gradient) and along rows, in float64", () => {
  for (const c of [1, 3, 4, 15, 16, 17, 130]) {
    for (const [outer, size] of [[1, 1], [1, 9], [3, 5], [1, 300]]) {
      // Columns are summed in float32 over 8 rows at a time (each partial ≤ 32 here, within 7 roundings of 1.9e-6),
      // then in float64: the absolute error grows with the rows, as PyTorch's float32 sums do.
      const atol = c > 1 ? 1e-6 * Math.max(1, Math.sqrt(size / 8) * 4) : 1e-6;
      check("reduce", { fn: "sum", outer, size, inner: c }, [outer * c], [values(outer * size * c, false)], 1e-6, atol);
    }
  }
  const x = values(4 * 9, false);
  x[5] = NaN;
  check("reduce", { fn: "sum", outer: 4, size: 9, inner: 1 }, [4], [x], 1e-6, 1e-6);
});

Deno.test("simd: softmax (plain and causal) and its backward, with masked, NaN and infinite rows", () => {
  for (const cols of [1, 3, 4, 5, 9, 130]) {
    const rows = 6;
    check("softmax", { rows, cols }, [rows * cols], [values(rows * cols, true)], 1e-6, 1e-7);
    for (const causalTq of [1, 2, 3, cols + 2]) {
      if (rows % causalTq) continue;
      check("softmax", { rows, cols, causalTq }, [rows * cols], [values(rows * cols, false)], 1e-6, 1e-7);
    }
    check("softmaxBackward", { rows, cols }, [rows * cols], [
      values(rows * cols, false, 0, 1),
      values(rows * cols, false),
    ]);
  }
  const masked = new Float32Array([-Infinity, -Infinity, -Infinity, 1, -Infinity, 2, Infinity, 0, 3]);
  check("softmax", { rows: 3, cols: 3 }, [9], [masked]);
});

Deno.test("simd: LayerNorm forward and backward (dx, dg, db) on odd widths", () => {
  for (const cols of [1, 2, 3, 5, 8, 33, 130]) {
    const rows = 37, x = values(rows * cols, false, -3, 5);
    check(
      "layerNorm",
      { rows, cols, eps: 1e-5 },
      [rows * cols, rows, rows],
      [x, values(cols, false), values(cols, false)],
      2e-5,
      2e-5,
    );
    const mean = new Float32Array(rows), rstd = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * cols, (r + 1) * cols), m = row.reduce((a, b) => a + b, 0) / cols;
      mean[r] = m;
      rstd[r] = 1 / Math.sqrt(row.reduce((a, b) => a + (b - m) ** 2, 0) / cols + 1e-5);
    }
    check(
      "layerNormBackward",
      { rows, cols },
      [rows * cols, cols, cols],
      [
        values(rows * cols, false),
        x,
        values(cols, false),
        mean,
        rstd,
      ],
      2e-5,
      2e-5,
    );
  }
});

Deno.test("simd: cross-entropy and its backward, with large logits, specials and bad targets", () => {
  for (const cols of [1, 2, 5, 9, 256]) {
    const rows = 8, t = Int32Array.from({ length: rows }, (_, r) => (r === 3 ? cols : r === 5 ? -1 : r % cols));
    const x = values(rows * cols, false, -30, 30);
    x[0] = 1e4; // a logit that would overflow without the max shift
    check("crossEntropy", { rows, cols }, [rows, rows], [x, t], 1e-6, 1e-5);
    const lse = new Float32Array(rows).map((_, r) => {
      const row = x.subarray(r * cols, (r + 1) * cols), m = Math.max(...row);
      return m + Math.log(row.reduce((a, b) => a + Math.exp(b - m), 0));
    });
    check("crossEntropyBackward", { rows, cols }, [rows * cols], [x, t, lse, values(rows, false)], 2e-6, 1e-7);
  }
  check("crossEntropy", { rows: 3, cols: 3 }, [3, 3], [
    new Float32Array([NaN, 0, 1, -Infinity, -Infinity, -Infinity, Infinity, 0, 1]),
    new Int32Array([0, 1, 2]),
  ]);
});

Deno.test("simd: AdamW in float64 matches the oracle's update over odd lengths", () => {
  for (const n of [1, 3, 4, 5, 130]) {
    const attrs = { lr: 3e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, step: 7 };
    check(
      "adamw",
      attrs,
      [n, n, n],
      [values(n, false), values(n, false, -0.1, 0.1), values(n, false, 0, 0.1), values(n, false)],
      1e-7,
      1e-9,
    );
  }
});

Deno.test("simd: the float64 oracle and NK_SIMD-off backends keep plain arrays and TypeScript kernels", () => {
  const b = oracle.alloc(8, "f32");
  assertEquals(owns((b as unknown as { data: Float64Array }).data), false);
  const off = createCpuBackend({ threads: 1, simd: false });
  assertEquals([off.simd, simd.simd, oracle.simd], [false, true, false]);
  assertEquals(owns((off.alloc(8, "f32") as unknown as { data: Float32Array }).data), false);
});

Deno.test("simd heap: blocks are aligned, reused after release, and coalesce with their neighbours", () => {
  const a = allocate("f32", 100)!, b = allocate("f32", 100)!, c = allocate("f64", 3)!;
  for (const x of [a, b, c]) assertEquals(x.byteOffset % 64, 0);
  assert.ok(owns(a) && owns(c));
  const before = heapStats();
  release(a);
  release(b); // coalesces with a's block
  const d = allocate("f32", 200)!; // fits in a + b (2 × 448 bytes)
  assertEquals(d.byteOffset, a.byteOffset);
  release(d);
  release(c);
  assert.ok(heapStats().used <= before.used, `heap used ${heapStats().used} > ${before.used} after releasing all`);
  assertThrows(() => release(new Float32Array(4)), /^Cannot release an array that is not in the heap$/);
});

Deno.test("simd module: built from the committed kernels.c (digest), and a rebuild gives the same bytes", async () => {
  const source = await Deno.readFile(new URL("../../lib/backend/cpu/simd/kernels.c", import.meta.url));
  assertEquals(KERNELS_SOURCE_SHA256, await sha256Hex(source), "kernels.c changed: run `deno task wasm`");
  let wasm: Uint8Array;
  try {
    wasm = await compileKernels();
  } catch (e) {
    if (/is not installed/.test((e as Error).message)) {
      console.log(`simd_test: rebuild check skipped: ${(e as Error).message}`);
      return;
    }
    throw e;
  }
  const committed = await Deno.readTextFile(new URL("../../lib/backend/cpu/simd/kernels.wasm.ts", import.meta.url));
  assert.ok(committed === await renderModule(wasm, source), "kernels.wasm.ts differs from a build of kernels.c");
});
