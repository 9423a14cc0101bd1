/**
 * What the library needs from its runtime, checked when `mod.ts` is imported so that a too-old Deno fails with one
 * line naming the versions instead of an obscure error deep inside. WebGPU and FFI are optional and checked where
 * they are used: without a WebGPU adapter `init({ backend: "webgpu" })` fails naming the provider and the "cpu"
 * backend still works; without `--allow-ffi` the CPU backend uses its TypeScript matrix product
 * (`createCpuBackend().matmulKernel` says so).
 * @module
 */

/** The oldest Deno this library runs on. */
export const MIN_DENO_VERSION = "2.0.0";

function parts(version: string): number[] {
  return version.split(/[.+-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0);
}

/**
 * Throws one clear Error when `found` (default: the running Deno's version; null stands for no Deno at all) is
 * older than `required`; returns nothing otherwise.
 * @example
 * ```ts
 * import { checkDenoVersion } from "../../mod.ts";
 * checkDenoVersion(); // the running Deno is new enough
 * try {
 *   checkDenoVersion("1.46.3");
 * } catch (e) {
 *   console.log((e as Error).message); // normformer-kit needs Deno 2.0.0 or newer, found Deno 1.46.3: ...
 * }
 * ```
 */
export function checkDenoVersion(found: string | null = runningDeno(), required: string = MIN_DENO_VERSION): void {
  if (found === null) {
    throw new Error(
      `normformer-kit needs Deno ${required} or newer, found no Deno runtime (globalThis.Deno is undefined): ` +
        `run it with deno (https://deno.com)`,
    );
  }
  const [a, b] = [parts(found), parts(required)];
  const i = a.findIndex((x, k) => x !== b[k]);
  if (i >= 0 && a[i] < b[i]) {
    throw new Error(
      `normformer-kit needs Deno ${required} or newer, found Deno ${found}: upgrade with "deno upgrade" ` +
        `(or run bin/deno, which installs the pinned version)`,
    );
  }
}

function runningDeno(): string | null {
  return (globalThis as { Deno?: { version?: { deno?: string } } }).Deno?.version?.deno ?? null;
}

checkDenoVersion();
