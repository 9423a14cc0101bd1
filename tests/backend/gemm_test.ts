/**
 * The CPU matrix products (`sgemmTs`, and OpenBLAS/Accelerate through `loadBlas` when present) against a float64
 * triple loop, for every transpose combination, odd and block-crossing sizes, k = 0, and nonzero offsets.
 * The error bound is the rigorous one for float32 dot products: |c − ref| ≤ (k + 2)·2⁻²⁴·Σ|a||b|.
 * @module
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { type Sgemm, sgemmTs } from "../../lib/backend/cpu/gemm.ts";
import { blasCandidates, loadBlas, openBlas } from "../../lib/backend/cpu/blas.ts";

const blas = loadBlas();
const blasSkip = "error" in blas ? blas.error : "";
if (blasSkip) console.log(`gemm_test: BLAS tests ignored: ${blasSkip}`);

const SMALL = [1, 3, 17, 64, 129];
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const GUARD = 12345; // written around every operand; C's guard must survive the product
const OFF = 5; // every operand starts this many elements into its array

/** Deterministic values in [−1, 1) (mulberry32), so a failure reproduces. */
function random(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  return out;
}

/** `data` placed at OFF inside an array with GUARD before and after. */
function embed(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length + 2 * OFF + 3).fill(GUARD);
  out.set(data, OFF);
  return out;
}

/** Runs `sgemm` on (m, n, k, transposes) with offset operands and checks against float64, guards and overwrite. */
function check(sgemm: Sgemm, tA: boolean, tB: boolean, m: number, n: number, k: number): void {
  const what = `(tA=${tA}, tB=${tB}, m=${m}, n=${n}, k=${k})`;
  const a = random(m * k, m * 7919 + k), b = random(k * n, n * 104729 + k + 1);
  const A = embed(a), B = embed(b), C = embed(new Float32Array(m * n).fill(NaN)); // NaN: C must be overwritten
  sgemm(tA, tB, m, n, k, A, OFF, B, OFF, C, OFF);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let ref = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const x = a[tA ? p * m + i : i * k + p] * b[tB ? j * k + p : p * n + j];
        ref += x, abs += Math.abs(x);
      }
      const got = C[OFF + i * n + j];
      if (!(Math.abs(got - ref) <= (k + 2) * 2 ** -24 * abs)) {
        assert.fail(`${what}: c[${i}, ${j}] = ${got}, want ${ref}`);
      }
    }
  }
  for (let i = 0; i < OFF; i++) assert.equal(C[i], GUARD, `${what}: guard before C overwritten`);
  for (let i = OFF + m * n; i < C.length; i++) assert.equal(C[i], GUARD, `${what}: guard after C overwritten`);
  assert.ok(A.every((v, i) => v === (i >= OFF && i < OFF + m * k ? a[i - OFF] : GUARD)), `${what}: A modified`);
  assert.ok(B.every((v, i) => v === (i >= OFF && i < OFF + k * n ? b[i - OFF] : GUARD)), `${what}: B modified`);
}

/** The cases both kernels run: all transposes over small odd sizes, k = 0, rectangles and cache-block edges. */
function suite(sgemm: Sgemm): void {
  for (const [tA, tB] of TRANS) {
    for (const m of SMALL) for (const n of SMALL) for (const k of SMALL) check(sgemm, tA, tB, m, n, k);
    for (const [m, n] of [[1, 1], [3, 17], [0, 4], [4, 0]]) check(sgemm, tA, tB, m, n, 0);
    for (const [m, n, k] of [[1, 200, 5], [200, 1, 5], [2, 7, 300], [300, 520, 257], [97, 13, 513]]) {
      check(sgemm, tA, tB, m, n, k); // 257 > KC, 520 > NC, 300 > MC: every block edge of gemm.ts
    }
  }
}

Deno.test("sgemmTs matches float64 for all transposes, odd sizes, k = 0 and block edges", () => suite(sgemmTs));

Deno.test("sgemmTs computes the documented 2×2 example", () => {
  const c = new Float32Array(4);
  sgemmTs(false, false, 2, 2, 2, new Float32Array([1, 2, 3, 4]), 0, new Float32Array([5, 6, 7, 8]), 0, c, 0);
  assert.deepEqual([...c], [19, 22, 43, 50]);
});

Deno.test({
  name: "loadBlas sgemm matches float64 for all transposes, odd sizes, k = 0 and block edges",
  ignore: blasSkip !== "",
  fn: () => {
    if ("sgemm" in blas) suite(blas.sgemm);
  },
});

Deno.test({
  name: "loadBlas sgemm rejects operands that run past their arrays",
  ignore: blasSkip !== "",
  fn: () => {
    if (!("sgemm" in blas)) return;
    const x = new Float32Array(16);
    assertThrows(() => blas.sgemm(false, false, 4, 4, 4, x, 1, x, 0, new Float32Array(16), 0), /runs past an array/);
  },
});

Deno.test("openBlas reports NK_BLAS=0 and missing libraries as errors", () => {
  const off = openBlas(blasCandidates(), true);
  assert.ok("error" in off && /NK_BLAS=0/.test(off.error), JSON.stringify(off));
  const none = openBlas([["none", "libnormformer-no-such-blas.so"]], false);
  // Not installed: one short clause naming the package and the speed-up, not every dlopen message.
  assert.ok("error" in none, JSON.stringify(none));
  assertEquals(none.error, "no OpenBLAS: apt-get install libopenblas0-pthread for ~10× faster matrix products");
});

/** Runs `code` (stdin module) in a fresh Deno with `flags` and `env`; returns its stdout. */
async function child(flags: string[], env: Record<string, string>, code: string): Promise<string> {
  const cmd = new Deno.Command(Deno.execPath(), { args: ["run", ...flags, "-"], env, stdin: "piped", stdout: "piped" });
  const proc = cmd.spawn();
  const w = proc.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await proc.output();
  assert.equal(out.code, 0, `child exited with ${out.code}`);
  return new TextDecoder().decode(out.stdout).trim();
}

const cpuMod = import.meta.resolve("../../lib/backend/cpu/mod.ts");
const blasMod = import.meta.resolve("../../lib/backend/cpu/blas.ts");

Deno.test("with NK_BLAS=0 the CPU backend falls back to sgemmTs and still multiplies", async () => {
  const code = `
    import { createCpuBackend } from "${cpuMod}";
    const cpu = createCpuBackend();
    const [a, b, c] = [cpu.alloc(4, "f32"), cpu.alloc(4, "f32"), cpu.alloc(4, "f32")];
    cpu.write(a, new Float32Array([1, 2, 3, 4]));
    cpu.write(b, new Float32Array([5, 6, 7, 8]));
    const attrs = { batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    cpu.dispatch("matmul", [c], [a, b], attrs);
    console.log(JSON.stringify({ kernel: cpu.matmulKernel, c: [...await cpu.read(c)] }));`;
  const { kernel, c } = JSON.parse(await child(["-A"], { NK_BLAS: "0" }, code));
  assert.match(kernel, /^typescript \(.*NK_BLAS=0/);
  assert.deepEqual(c, [19, 22, 43, 50]);
});

Deno.test("without FFI permission loadBlas returns an error instead of throwing or prompting", async () => {
  const code = `import { loadBlas } from "${blasMod}"; console.log(JSON.stringify(loadBlas()));`;
  const out = await child(["--allow-read", "--allow-env", "--no-prompt"], { NK_BLAS: "1" }, code);
  assert.match(JSON.parse(out).error, /^no --allow-ffi: (OpenBLAS|Accelerate) not used$/);
});
