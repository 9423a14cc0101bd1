/**
 * Backend selection: an option, else the NK_BACKEND environment variable, else "auto" (WebGPU on a real
 * adapter, the CPU otherwise: an emulated adapter such as Mesa's llvmpipe is slower than the CPU path).
 * @module
 */
import type { Backend } from "./backend.ts";
import { createCpuBackend } from "./cpu/mod.ts";

/** Which backend to use. */
export type BackendName = "cpu" | "webgpu" | "auto";
/** Where the WebGPU adapter comes from: Deno's built-in navigator.gpu, or npm:webgpu (Dawn). */
export type Provider = "deno" | "dawn";

/** Options of `createBackend`. */
export interface BackendOptions {
  /** "cpu" | "webgpu" | "auto"; "auto" or absent defers to env NK_BACKEND, else probes (default "auto"). */
  backend?: BackendName;
  /** WebGPU provider (default: env NK_WEBGPU_PROVIDER, else "deno"). */
  provider?: Provider;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: use defaults
  }
}

/**
 * Create a backend by name.
 * @example
 * ```ts
 * import { createBackend } from "./select.ts";
 * const cpu = await createBackend({ backend: "cpu" });
 * console.log(cpu.name); // "cpu"
 * ```
 */
export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const given = opts.backend && opts.backend !== "auto" ? opts.backend : undefined;
  const name = given ?? (env("NK_BACKEND") as BackendName | undefined) ?? "auto";
  const provider = opts.provider ?? (env("NK_WEBGPU_PROVIDER") as Provider | undefined) ?? "deno";
  if (!["cpu", "webgpu", "auto"].includes(name)) {
    throw new Error(`Unknown backend "${name}": expected "cpu", "webgpu" or "auto"`);
  }
  if (!["deno", "dawn"].includes(provider)) {
    throw new Error(`Unknown WebGPU provider "${provider}": expected "deno" or "dawn"`);
  }
  if (name === "cpu") return createCpuBackend();
  quietMesa();
  const { createWebGpuBackend } = await import("./webgpu/mod.ts");
  if (name === "webgpu") {
    try {
      return await createWebGpuBackend({ provider });
    } catch (e) {
      // One line, whatever the provider or the npm resolver printed: the reason, and that "cpu" still works.
      const message = e instanceof Error ? e.message : String(e);
      if (!message.includes("\n")) throw e;
      throw new Error(message.replace(/\s*\n\s*/g, " "), { cause: e });
    }
  }
  try {
    const gpu = await createWebGpuBackend({ provider });
    if (!(gpu as { isFallbackAdapter?: boolean }).isFallbackAdapter) return gpu;
    gpu.destroy();
  } catch {
    // no adapter: the CPU is the answer
  }
  return createCpuBackend();
}

/**
 * Mesa's Vulkan driver prints "XDG_RUNTIME_DIR is invalid" on stderr when the variable is unset (headless
 * machines, CI); give it a private temporary folder so probing for an adapter stays silent.
 */
function quietMesa(): void {
  try {
    if (Deno.build.os !== "linux" || Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = Deno.makeTempDirSync({ prefix: "nk-xdg-" });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // no env or write permission: the warning is harmless
  }
}
