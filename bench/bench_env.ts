/**
 * The environment every benchmark measures in (DESIGN.md): OpenBLAS without OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE (which hold it to AVX2), with OPENBLAS_NUM_THREADS set, for us and the PyTorch peer alike,
 * and OPENBLAS_THREAD_TIMEOUT=4 (idle BLAS threads sleep instead of spinning on the cores the CPU backend's worker
 * threads use; README "CPU threads") unless the caller set it.
 * OpenBLAS reads them when it loads, so a benchmark script re-runs itself in a child process with that
 * environment; the child sees NK_BENCH_CHILD (the removed values, as JSON) and goes on.
 * @module
 */

/** The variables removed for a benchmark. */
export const BLAS_ENV = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];
const CHILD = "NK_BENCH_CHILD";

/**
 * In the parent: re-run `script` with the benchmark environment and exit with the child's status (never returns).
 * In the child (or with `keep`): return at once.
 */
export async function enterBenchEnv(script: string, threads: number, keep: boolean): Promise<void> {
  if (keep || Deno.env.get(CHILD) !== undefined) return;
  const env = Deno.env.toObject();
  const removed = Object.fromEntries(BLAS_ENV.filter((k) => k in env).map((k) => [k, env[k]]));
  for (const k of BLAS_ENV) delete env[k];
  Object.assign(env, { OPENBLAS_NUM_THREADS: String(threads), [CHILD]: JSON.stringify(removed) });
  env.OPENBLAS_THREAD_TIMEOUT ??= "4";
  // Mesa's Vulkan driver prints "XDG_RUNTIME_DIR is invalid" for every adapter opened without one (headless).
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = await Deno.makeTempDir({ prefix: "nk-bench-xdg-" });
  const args = ["run", "-A", script, ...Deno.args];
  const child = new Deno.Command(Deno.execPath(), { args, env, clearEnv: true, stdin: "inherit" }).spawn();
  Deno.exit((await child.status).code);
}

/** What the benchmark environment is, for results and headers. */
export function benchEnvInfo(): Record<string, unknown> {
  const removed = Deno.env.get(CHILD);
  return {
    removedForBench: removed === undefined ? null : JSON.parse(removed),
    OPENBLAS_NUM_THREADS: Deno.env.get("OPENBLAS_NUM_THREADS") ?? null,
    OPENBLAS_THREAD_TIMEOUT: Deno.env.get("OPENBLAS_THREAD_TIMEOUT") ?? null,
    ...Object.fromEntries(BLAS_ENV.map((k) => [k, Deno.env.get(k) ?? null])),
  };
}
