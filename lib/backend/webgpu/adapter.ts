/**
 * Where the WebGPU device comes from: Deno's built-in `navigator.gpu` ("deno"), or the Dawn node binding from
 * npm ("dawn"). Dawn is imported lazily through a computed specifier: the package carries every platform's
 * binary (~130 MB), so type-checking or using the default provider must not download it.
 *
 * Use one provider per process, and "dawn" once: Dawn aborts (`std::system_error`) in a process where Deno's
 * WebGPU already opened a device or a second Dawn instance starts (seen with Deno 2.9.6, webgpu 0.6.2).
 * @module
 */

/** Where the adapter comes from. */
export type Provider = "deno" | "dawn";

/** The npm package and version that the "dawn" provider loads. */
export const DAWN_PACKAGE = "npm:webgpu@0.6.2";

/** What the adapter says about itself. */
export interface AdapterInfo {
  /** The provider asked. */
  provider: Provider;
  /** Vendor, as the adapter reports it ("" when it does not; the same for the next three). */
  vendor: string;
  /** Architecture. */
  architecture: string;
  /** Device id. */
  device: string;
  /** Human-readable description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** True for a software or otherwise limited adapter (Mesa llvmpipe, SwiftShader, WARP). */
  isFallbackAdapter: boolean;
}

/**
 * Advice that fits what this machine has (Linux): no Vulkan loader, a loader without drivers, or both present —
 * then installing Mesa would not help, so the advice is another backend or provider.
 * @example
 * ```ts
 * import { vulkanHint } from "./adapter.ts";
 * console.log(vulkanHint({ loader: true, drivers: [] })); // use backend "cpu", or install a Vulkan driver: apt-get …
 * ```
 */
export function vulkanHint(found: { loader: boolean; drivers: string[] } | null = findVulkan()): string {
  if (!found) return 'use backend "cpu" or install a Vulkan driver';
  if (!found.loader) return 'use backend "cpu", or install Vulkan: apt-get install libvulkan1 mesa-vulkan-drivers';
  if (!found.drivers.length) {
    return 'use backend "cpu", or install a Vulkan driver: apt-get install mesa-vulkan-drivers';
  }
  return `Vulkan drivers are installed (${found.drivers.slice(0, 3).join(", ")}) but none gave an adapter: use ` +
    'backend "cpu", the other provider, or DENO_WEBGPU_BACKEND=gl';
}

/** The Vulkan loader and driver manifests on Linux (null elsewhere, or when the files cannot be read). */
function findVulkan(): { loader: boolean; drivers: string[] } | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const exists = (p: string) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    };
    const libDirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];
    const loader = libDirs.some((d) => exists(`${d}/libvulkan.so.1`));
    const drivers: string[] = [];
    for (const dir of ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]) {
      try {
        for (const e of Deno.readDirSync(dir)) if (e.name.endsWith(".json")) drivers.push(e.name);
      } catch { /* no such folder */ }
    }
    return { loader, drivers: drivers.sort() };
  } catch {
    return null; // no --allow-read
  }
}

/** The wgpu backends Deno's WebGPU probes on Linux unless env DENO_WEBGPU_BACKEND names others. */
export const LINUX_WGPU_BACKENDS = "vulkan";

/**
 * Make Deno's WebGPU probe Vulkan only on Linux, unless env DENO_WEBGPU_BACKEND already says what to probe (say
 * "vulkan,gl"); Deno reads it when WebGPU first starts. Unset, wgpu also probes GL through EGL, which loads Mesa's
 * EGL/GL stack (libEGL, libGLdispatch, swrast_dri) beside the Vulkan driver in every process that asks for an
 * adapter. Its teardown at process exit races the exit of the threads that touched it: a thread's
 * thread-specific-data destructor frees memory that the EGL libraries' destructors, running at the same time on the
 * exiting main thread, already freed, and glibc aborts after the last line of output ("corrupted size vs.
 * prev_size in fastbins", "malloc_consolidate(): invalid chunk size", "free(): invalid pointer"), sometimes with
 * exit status 0: 9 of 300 runs of `deno test --parallel` over six WebGPU and worker-thread test modules here, none
 * of 300 with Vulkan only (issue 14, item 5). Without env permission this does nothing.
 */
function preferVulkan(): void {
  try {
    if (Deno.build.os === "linux" && Deno.env.get("DENO_WEBGPU_BACKEND") === undefined) {
      Deno.env.set("DENO_WEBGPU_BACKEND", LINUX_WGPU_BACKENDS);
    }
  } catch {
    // no --allow-env: wgpu probes its defaults
  }
}

async function gpuOf(provider: Provider): Promise<{ gpu: GPU; how: string; keepAlive: unknown }> {
  if (provider === "deno") {
    preferVulkan();
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (!gpu) {
      throw new Error(`No WebGPU from provider "deno": navigator.gpu is undefined here; use backend "cpu"`);
    }
    return { gpu, how: "navigator.gpu.requestAdapter()", keepAlive: null };
  }
  let mod: { create(flags: string[]): GPU };
  try {
    const spec: string = DAWN_PACKAGE; // computed: see the module doc
    mod = await import(spec);
  } catch (e) {
    throw new Error(
      `Cannot load provider "dawn" (${DAWN_PACKAGE}): ${(e as Error).message}; it needs network or a cached ` +
        `copy and --allow-ffi --allow-read --allow-env; use provider "deno" or backend "cpu"`,
    );
  }
  // dawn.node lives as long as the object create() returns: the backend keeps it.
  const gpu = mod.create([]);
  return { gpu, how: `${DAWN_PACKAGE} create([]).requestAdapter()`, keepAlive: gpu };
}

/** Open a device on the first adapter of `provider`, raising the storage-buffer limits to what it offers. */
export async function openDevice(
  provider: Provider,
): Promise<{ device: GPUDevice; info: AdapterInfo; keepAlive: unknown }> {
  if (provider !== "deno" && provider !== "dawn") {
    throw new Error(`Unknown WebGPU provider "${provider}": expected "deno" or "dawn"`);
  }
  const { gpu, how, keepAlive } = await gpuOf(provider);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error(`No WebGPU adapter from provider "${provider}" (${how} returned null); ${vulkanHint()}`);
  }
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(lim.maxStorageBuffersPerShaderStage, 10),
    },
  });
  const ai = (adapter.info ?? {}) as Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean };
  const legacy = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    device,
    keepAlive,
    info: {
      provider,
      vendor: ai.vendor ?? "",
      architecture: ai.architecture ?? "",
      device: ai.device ?? "",
      description: ai.description ?? "",
      isFallbackAdapter: Boolean(ai.isFallbackAdapter ?? legacy ?? false),
    },
  };
}
