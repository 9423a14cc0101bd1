/**
 * The WebGPU backend: WGSL kernels (one family per file under `wgsl/`, registered in `kernels.ts`) run through a
 * batching command stream (`runner.ts`) on pooled buffers (`buffers.ts`). Work is submitted only when `read`
 * needs it or a batch fills up, so a training step costs one submit and one readback (~12 ms on Mesa's emulated
 * adapter, which also costs 40–60 µs a dispatch: batch work and read back rarely).
 * Legend: N elements.
 * @module
 */
import type { Backend, DeviceBuffer, DType, OpName } from "../backend.ts";
import { BufferPool, GpuBuffer, physicalBytes, STORAGE_USAGE } from "./buffers.ts";
import { Runner, type Step } from "./runner.ts";
import { IN_PLACE, KERNELS, MAX_LAUNCHES, type Temp, type TexTemp } from "./kernels.ts";
import { type AdapterInfo, openDevice, type Provider } from "./adapter.ts";

export type { AdapterInfo, Provider };
export { DAWN_PACKAGE } from "./adapter.ts";

/** Options of `createWebGpuBackend`. */
export interface WebGpuOptions {
  /** "deno" (built-in navigator.gpu, the default) or "dawn" (npm:webgpu). */
  provider?: Provider;
  /** Most bytes kept in the buffer pool after a submit (default 1 GiB). */
  maxPooledBytes?: number;
}

/** The WebGPU backend, with what its adapter reports. */
export interface WebGpuBackend extends Backend {
  /** Vendor, description and whether the adapter is a fallback (software) one. */
  readonly adapterInfo: AdapterInfo;
  /** True on a software adapter such as llvmpipe, where the CPU backend is usually faster. */
  readonly isFallbackAdapter: boolean;
  /** Submit queued work now without waiting (a benchmark's way to time the device, not needed otherwise). */
  flush(): void;
}

/** Outputs and inputs each op takes. */
const ARITY: Record<OpName, [number, number]> = {
  unary: [1, 1],
  binary: [1, 2],
  affine: [1, 1],
  reduce: [1, 1],
  matmul: [1, 2],
  strided: [1, 1],
  scatterStrided: [1, 2],
  fill: [1, 0],
  gather: [1, 2],
  scatterAdd: [1, 2],
  causalMask: [1, 1],
  softmax: [1, 1],
  softmaxBackward: [1, 2],
  layerNorm: [3, 3],
  layerNormBackward: [3, 5],
  crossEntropy: [2, 2],
  crossEntropyBackward: [1, 4],
  dropout: [1, 1],
  adamw: [3, 4],
};

/**
 * Create a WebGPU backend. Throws when the provider has no adapter, naming what was tried.
 * @example
 * ```ts
 * import { createWebGpuBackend } from "./mod.ts";
 * try {
 *   const gpu = await createWebGpuBackend();
 *   const x = gpu.alloc(3, "f32");
 *   gpu.write(x, new Float32Array([1, 2, 3]));
 *   gpu.dispatch("unary", [x], [x], { fn: "neg" });
 *   console.log(await gpu.read(x), gpu.adapterInfo.isFallbackAdapter); // Float32Array [-1, -2, -3]
 *   gpu.destroy();
 * } catch (e) {
 *   console.log((e as Error).message); // No WebGPU adapter from provider "deno" (...)
 * }
 * ```
 */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const { device, info, keepAlive } = await openDevice(opts.provider ?? "deno");
  const pool = new BufferPool(device, opts.maxPooledBytes ?? 2 ** 30);
  const runner = new Runner(device, pool);
  let deviceError: string | null = null;
  let destroyed = false;
  const onError = (e: Event) => {
    deviceError ??= (e as GPUUncapturedErrorEvent).error.message;
    e.preventDefault(); // library code never prints; the error surfaces at the next read
  };
  if (typeof device.addEventListener === "function") {
    device.addEventListener("uncapturederror", onError as EventListener);
  } else (device as { onuncapturederror?: unknown }).onuncapturederror = onError;
  device.lost.then((l) => deviceError ??= destroyed ? null : `Device lost (${l.reason}): ${l.message}`);
  let liveBytes = 0, liveBuffers = 0;
  const maxBinding = device.limits.maxStorageBufferBindingSize;

  const check = (b: DeviceBuffer, what: string): GpuBuffer => {
    if (destroyed) throw new Error("Cannot use the webgpu backend after destroy()");
    if (!(b instanceof GpuBuffer)) throw new Error(`Cannot use a ${b?.constructor?.name} as ${what} on webgpu`);
    if (!b.gpu) throw new Error(`Cannot use a freed buffer (${b.size} × ${b.dtype}) as ${what}`);
    return b;
  };
  /** A scratch f32 buffer for one op's dispatches, back in the pool once they are submitted. */
  const scratch: Temp = (size) => {
    const bytes = physicalBytes(size);
    const buf = new GpuBuffer(size, "f32", pool.acquire(bytes, STORAGE_USAGE), bytes);
    runner.releaseAfterSubmit(buf.gpu!);
    return buf;
  };
  /** Scratch packed-operand textures, back in the pool once the op's dispatches are submitted. */
  const texTemp: TexTemp = {
    maxDim: device.limits.maxTextureDimension2D,
    get(width, height) {
      const t = pool.acquireTexture(width, height);
      runner.releaseAfterSubmit(t);
      return t;
    },
  };
  const raise = () => {
    if (deviceError) throw new Error(`WebGPU reported an error: ${deviceError}`);
  };

  return {
    name: "webgpu",
    adapterInfo: info,
    isFallbackAdapter: info.isFallbackAdapter,
    alloc(size: number, dtype: DType): DeviceBuffer {
      if (destroyed) throw new Error("Cannot use the webgpu backend after destroy()");
      if (!Number.isInteger(size) || size < 0) {
        throw new Error(`Cannot allocate ${size} elements: expected an integer ≥ 0`);
      }
      if (dtype !== "f32" && dtype !== "i32") throw new Error(`Unknown dtype "${dtype}": expected "f32" or "i32"`);
      const bytes = physicalBytes(size);
      if (bytes > maxBinding) {
        throw new Error(
          `Cannot allocate ${size} elements: ${bytes} bytes exceed this adapter's binding limit ${maxBinding}`,
        );
      }
      liveBytes += bytes;
      liveBuffers++;
      return new GpuBuffer(size, dtype, pool.acquire(bytes, STORAGE_USAGE), bytes);
    },
    free(b) {
      const buf = check(b, "the buffer to free");
      pool.release(buf.gpu!);
      buf.gpu = null;
      liveBytes -= buf.bytes;
      liveBuffers--;
    },
    write(b, data) {
      const buf = check(b, "a write target");
      if (data.length !== buf.size) throw new Error(`Cannot write ${data.length} values into a buffer of ${buf.size}`);
      if (data.length === 0) return;
      // Values convert across dtypes (as TypedArray.set does on the CPU); bits never reinterpret.
      const d = buf.dtype === "i32"
        ? (data instanceof Int32Array ? data : Int32Array.from(data))
        : (data instanceof Float32Array ? data : Float32Array.from(data));
      runner.write(buf.gpu!, new Uint8Array(d.buffer as ArrayBuffer, d.byteOffset, d.byteLength));
    },
    async read(b) {
      const buf = check(b, "a read source");
      raise();
      const bytes = await runner.read(buf.gpu!, buf.size * 4);
      raise();
      return buf.dtype === "i32" ? new Int32Array(bytes) : new Float32Array(bytes);
    },
    dispatch(op, outs, ins, attrs) {
      const plan = KERNELS[op] as (o: GpuBuffer[], i: GpuBuffer[], a: unknown, temp: Temp, tex: TexTemp) => Step[];
      if (!plan) throw new Error(`Unknown op "${op}" on the webgpu backend`);
      const [no, ni] = ARITY[op];
      if (outs.length !== no || ins.length !== ni) {
        throw new Error(`Op "${op}" takes ${no} outputs and ${ni} inputs, got ${outs.length} and ${ins.length}`);
      }
      const o = outs.map((b, k) => check(b, `output ${k} of ${op}`));
      // An input snapshot or scratch buffer below must not be released by a flush before its reader runs.
      runner.ensureRoom(MAX_LAUNCHES);
      const inPlace = IN_PLACE[op] ?? 0;
      const i = ins.map((b, k) => {
        const buf = check(b, `input ${k} of ${op}`);
        if (k < inPlace || !o.includes(buf)) return buf;
        // An input that is also an output: read a snapshot (WebGPU forbids binding one buffer read and read_write).
        const copy = new GpuBuffer(buf.size, buf.dtype, pool.acquire(buf.bytes, STORAGE_USAGE), buf.bytes);
        runner.copy(buf.gpu!, copy.gpu!, buf.bytes);
        runner.releaseAfterSubmit(copy.gpu!);
        return copy;
      });
      for (const l of plan(o, i, attrs, scratch, texTemp)) runner.dispatch(l);
    },
    memory: () => ({ liveBytes, pooledBytes: pool.pooledBytes, liveBuffers }),
    flush() {
      if (!destroyed) runner.flush();
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      runner.destroy();
      pool.clear();
      device.destroy();
      void keepAlive;
    },
  };
}
