/**
 * A system BLAS behind the `Sgemm` signature: OpenBLAS (Linux, Windows) or Apple Accelerate, opened with
 * `Deno.dlopen` and called synchronously (a sync FFI call costs ~0.05 µs; a `nonblocking` one 11–34 µs).
 * Loading never throws, prints or prompts: it returns `{ error }` naming why, and the CPU backend then uses the
 * TypeScript kernel of `gemm.ts`.
 * @module
 */
import type { Sgemm } from "./gemm.ts";

/**
 * Row-major C (m×n, leading dim ldc) = op(A)·op(B) with explicit leading dims, each operand a view that starts at
 * its first element (a CPU thread splitting a product calls this on its block; threads.ts).
 */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
) => void;

/** A loaded BLAS: the product, the library it came from, and OpenBLAS's thread count when it reports one. */
export interface Blas {
  /** `cblas_sgemm` behind the `Sgemm` signature, with range checks (on the threads last set by `useThreads`). */
  sgemm: Sgemm;
  /**
   * `cblas_sgemm` as it is, on the threads last set by `useThreads` (the CPU backend cuts products into calls on
   * one thread each, matmul_parts.ts).
   */
  gemm: Gemm;
  /** Set OpenBLAS's threads (no-op without `openblas_set_num_threads`, or when already set). */
  useThreads(n: number): void;
  /** Which library, e.g. "openblas (libopenblas.so.0)". */
  library: string;
  /** `openblas_get_num_threads()`, or undefined when the library has no such symbol (Accelerate). */
  threads?: number;
}

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

const SYMBOLS = {
  // cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), 32-bit ints (LP64 build).
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
    nonblocking: false,
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

/** Libraries tried in order for this OS: [label, path or soname]. */
export function blasCandidates(os: string = Deno.build.os): [string, string][] {
  if (os === "darwin") return [["accelerate", "/System/Library/Frameworks/Accelerate.framework/Accelerate"]];
  if (os === "windows") return [["openblas", "libopenblas.dll"]];
  return [["openblas", "libopenblas.so.0"], ["openblas", "libopenblas.so"], ["cblas", "libcblas.so.3"]];
}

let memo: Blas | { error: string } | undefined;

/**
 * Open the system BLAS once (memoized). Returns `{ error }` when env `NK_BLAS=0` disables it, FFI permission is
 * not granted, or no candidate library opens.
 * @example
 * ```ts
 * import { loadBlas } from "./blas.ts";
 * const blas = loadBlas();
 * const how = "sgemm" in blas ? blas.library : `typescript (${blas.error})`;
 * ```
 */
export function loadBlas(): Blas | { error: string } {
  return memo ??= openBlas(blasCandidates(), readEnv("NK_BLAS") === "0");
}

/**
 * The uncached loader behind `loadBlas`, for tests: `disabled` stands for `NK_BLAS=0`.
 * @example
 * ```ts
 * import { openBlas } from "./blas.ts";
 * const r = openBlas([["none", "libdoes-not-exist.so"]], false);
 * if (!("error" in r)) throw new Error("Expected no library to open");
 * console.log(r.error); // no OpenBLAS: apt-get install libopenblas0-pthread for ~10× faster matrix products
 * ```
 */
export function openBlas(candidates: [string, string][], disabled: boolean): Blas | { error: string } {
  if (disabled) return { error: "BLAS disabled by NK_BLAS=0" };
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      const library = candidates[0]?.[0] === "accelerate" ? "Accelerate" : "OpenBLAS";
      return { error: `no --allow-ffi: ${library} not used` };
    }
  } catch (e) {
    return { error: `cannot query FFI permission (${e instanceof Error ? e.message : String(e)})` };
  }
  const failures: string[] = [];
  for (const [label, path] of candidates) {
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      const threads = lib.symbols.openblas_get_num_threads?.();
      const setThreads = lib.symbols.openblas_set_num_threads ?? undefined;
      let current = threads ?? 1;
      const useThreads = (n: number) => {
        if (setThreads && n !== current) setThreads(current = n);
      };
      const gemm = raw(lib.symbols.cblas_sgemm);
      return {
        sgemm: wrap(gemm),
        gemm,
        useThreads,
        library: `${label} (${path})`,
        threads: threads ?? undefined,
      };
    } catch (e) { // NotFound-like errors from dlopen; NotCapable/PermissionDenied if permission changed meanwhile
      failures.push(`"${path}": ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  }
  const missing = failures.every((f) => /cannot open shared object|no such file|not found|image not found/i.test(f));
  return { error: missing ? blasMissing(candidates) : `no BLAS library opened (${failures.join("; ")})` };
}

/** One short clause for the usual case, no BLAS installed: what to install and what it brings. */
function blasMissing(candidates: [string, string][]): string {
  const how = candidates[0]?.[1].endsWith(".dll")
    ? "put libopenblas.dll on PATH"
    : candidates[0]?.[0] === "accelerate"
    ? "Accelerate did not open"
    : "apt-get install libopenblas0-pthread";
  return `no OpenBLAS: ${how} for ~10× faster matrix products`;
}

type CblasSgemm = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]["cblas_sgemm"];

function raw(cblas: CblasSgemm): Gemm {
  return (transA, transB, m, n, k, a, lda, b, ldb, c, ldc) =>
    cblas(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
}

function wrap(gemm: Gemm): Sgemm {
  return (transA, transB, m, n, k, a, aOff, b, bOff, c, cOff) => {
    if (m === 0 || n === 0) return;
    // k = 0 would need lda = 0, which cblas rejects (and prints); the product is all zeros anyway.
    if (k === 0) return void c.fill(0, cOff, cOff + m * n);
    // BLAS reads raw memory: a short array would be read past its end, not clamped like a subarray.
    if (aOff + m * k > a.length || bOff + k * n > b.length || cOff + m * n > c.length) {
      throw new RangeError(`Matrix product of (${m}×${k})·(${k}×${n}) runs past an array: check sizes and offsets`);
    }
    gemm(
      transA,
      transB,
      m,
      n,
      k,
      a.subarray(aOff, aOff + m * k),
      transA ? m : k,
      b.subarray(bOff, bOff + k * n),
      transB ? k : n,
      c.subarray(cOff, cOff + m * n),
      n,
    );
  };
}

/** `Deno.env.get` without prompting: undefined when env access is not granted. */
export function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
