/**
 * Opening our backends for a benchmark, each either a backend or the reason to skip its column, plus the shared
 * input values. WebGPU is imported at run time, so the bench still type-checks and runs while that backend is
 * being worked on, and a failure to start costs one column instead of the run.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import type { PeerInfo } from "./peer.ts";

/** A one-line reason from an error, for a skip note. */
export function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim().slice(0, 240);
}

/** Deterministic values in [-0.5, 0.5): the same inputs on every column. */
export function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = ((Math.imul(i, 2654435761) + seed) >>> 0) % 1000 / 1000 - 0.5;
  return out;
}

/** The CPU backend, with BLAS (the default) or its TypeScript matrix product; a string is why not. */
export async function openCpu(blas = true): Promise<Backend | string> {
  try {
    const { createCpuBackend } = await import("../lib/backend/cpu/mod.ts");
    const be = createCpuBackend({ blas });
    if (blas && be.matmulKernel.startsWith("typescript")) return `no BLAS: ${be.matmulKernel}`;
    return be;
  } catch (e) {
    return `CPU backend failed to load: ${reason(e)}`;
  }
}

/** The WebGPU backend on Deno's navigator.gpu (60 s to start); a string is why not. */
export async function openWebGpu(): Promise<Backend | string> {
  const url = new URL("../lib/backend/webgpu/mod.ts", import.meta.url).href;
  try {
    const mod = await import(url);
    if (typeof mod.createWebGpuBackend !== "function") return `${url} has no createWebGpuBackend export`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((r) =>
      timer = setTimeout(() => r("createWebGpuBackend() took over 60 s"), 60e3)
    );
    try {
      return await Promise.race([mod.createWebGpuBackend() as Promise<Backend>, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    return `WebGPU backend unavailable: ${reason(e)}`;
  }
}

/** The peer's description for a group's notes. */
export function peerNote(p: PeerInfo): string {
  return `torch ${p.version}: ${p.threads} threads, OpenBLAS threads ${p.openblasThreads ?? "n/a"}, ` +
    `own kernels ${p.cpuCapability ?? "?"}`;
}
