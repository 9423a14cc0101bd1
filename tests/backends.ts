/**
 * The backends a test runs on: the CPU always; WebGPU when an adapter exists, else a printed reason to skip.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import { createBackend } from "../lib/backend/select.ts";

let cached: Promise<Backend | string> | null = null;

/** One shared WebGPU backend for the test process, or the reason there is none. */
export function gpuBackendOrReason(): Promise<Backend | string> {
  cached ??= createBackend({ backend: "webgpu" }).catch((e) => (e instanceof Error ? e.message : String(e)));
  return cached;
}
