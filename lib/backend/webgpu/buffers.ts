/**
 * Device buffers and the pool they return to. WebGPU buffer sizes must be a positive multiple of 4; we round to
 * 16 bytes so every buffer can also be bound as `array<vec4<f32>>` (the aligned matmul path), and a size-0 tensor
 * still owns a 16-byte buffer. Buffers are pooled by (usage, rounded size): a training step allocates the same
 * shapes every step, so exact-size reuse hits nearly always and first-touch costs are paid once.
 * @module
 */
import type { DeviceBuffer, DType } from "../backend.ts";

/** GPUBufferUsage bits, spelled out so both providers (Deno, Dawn) work without touching their globals. */
export const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
/** GPUMapMode.READ. */
export const MAP_READ_MODE = 0x1;

/** Usage of tensor storage buffers. */
export const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
/** Usage of readback staging buffers. */
export const READ_USAGE = USAGE.MAP_READ | USAGE.COPY_DST;
/** Usage of upload staging buffers (written with writeBuffer, then copied inside a batch). */
export const UPLOAD_USAGE = USAGE.COPY_SRC | USAGE.COPY_DST;

/** Bytes a buffer of `size` elements occupies on the device: 4 per element, rounded up to 16, at least 16. */
export function physicalBytes(size: number): number {
  return Math.max(16, Math.ceil((size * 4) / 16) * 16);
}

/** A WebGPU allocation seen through the `DeviceBuffer` interface. */
export class GpuBuffer implements DeviceBuffer {
  /** Number of elements. */
  readonly size: number;
  /** Element type. */
  readonly dtype: DType;
  /** The device buffer; null once freed. */
  gpu: GPUBuffer | null;
  /** Bytes of the device buffer. */
  readonly bytes: number;
  constructor(size: number, dtype: DType, gpu: GPUBuffer, bytes: number) {
    this.size = size;
    this.dtype = dtype;
    this.gpu = gpu;
    this.bytes = bytes;
  }
}

/** A pooled resource: a buffer, or an rgba32float texture (the matmul's packed operands). */
export type Pooled = GPUBuffer | GPUTexture;
/**
 * GPUTextureUsage COPY_DST | TEXTURE_BINDING | STORAGE_BINDING: written by a packing pass or a copy, read with
 * textureLoad.
 */
const TEXTURE_USAGE = 0x2 | 0x4 | 0x8;
const isTexture = (r: Pooled): r is GPUTexture => "createView" in r;
const keyOf = (r: Pooled) => (isTexture(r) ? `tex:${r.width}x${r.height}` : `${r.usage}:${r.size}`);
/** Bytes of a pooled resource (16 per rgba32float texel). */
const bytesOf = (r: Pooled) => (isTexture(r) ? r.width * r.height * 16 : r.size);

/**
 * Free GPU buffers and textures kept for reuse, keyed by usage and byte size (textures by extent); `trim` destroys
 * the oldest over a byte cap.
 */
export class BufferPool {
  #free = new Map<string, Pooled[]>();
  #order: [string, Pooled][] = [];
  #device: GPUDevice;
  #maxPooledBytes: number;
  /** Bytes currently held in the pool. */
  pooledBytes = 0;
  /** Called after `trim` or `clear` destroyed buffers. */
  onDestroy: () => void = () => {};

  constructor(device: GPUDevice, maxPooledBytes: number) {
    this.#device = device;
    this.#maxPooledBytes = maxPooledBytes;
  }

  /** A buffer of exactly `bytes` bytes with `usage`, from the pool when one is free. */
  acquire(bytes: number, usage: number): GPUBuffer {
    return (this.#take(`${usage}:${bytes}`) as GPUBuffer | undefined) ??
      this.#device.createBuffer({ size: bytes, usage });
  }

  /** An rgba32float texture of `width` × `height` texels, bindable as storage (write) and sampled texture. */
  acquireTexture(width: number, height: number): GPUTexture {
    return (this.#take(`tex:${width}x${height}`) as GPUTexture | undefined) ??
      this.#device.createTexture({ size: [width, height], format: "rgba32float", usage: TEXTURE_USAGE });
  }

  #take(key: string): Pooled | undefined {
    const hit = this.#free.get(key)?.pop();
    if (hit) {
      this.pooledBytes -= bytesOf(hit);
      this.#order.splice(this.#order.findIndex(([, b]) => b === hit), 1);
    }
    return hit;
  }

  /**
   * Return a buffer for reuse. Reuse within the open batch is safe for tensor buffers (every later use is an
   * encoded command, so ordered after earlier ones); staging buffers, written with queue.writeBuffer, must come
   * back only after the batch that used them is submitted.
   */
  release(buffer: Pooled): void {
    const key = keyOf(buffer);
    let list = this.#free.get(key);
    if (!list) this.#free.set(key, list = []);
    list.push(buffer);
    this.#order.push([key, buffer]);
    this.pooledBytes += bytesOf(buffer);
  }

  /**
   * Destroy the longest-pooled buffers while over the byte cap. Call right after a submit: a pooled buffer may
   * still be named by the unsubmitted batch, and destroying it then would invalidate that batch.
   */
  trim(): void {
    let destroyed = false;
    while (this.pooledBytes > this.#maxPooledBytes && this.#order.length > 0) {
      const [key, old] = this.#order.shift()!;
      const list = this.#free.get(key)!;
      list.splice(list.indexOf(old), 1);
      this.pooledBytes -= bytesOf(old);
      old.destroy();
      destroyed = true;
    }
    if (destroyed) this.onDestroy();
  }

  /** Destroy every pooled buffer. */
  clear(): void {
    for (const [, b] of this.#order) b.destroy();
    this.#free.clear();
    this.#order = [];
    this.pooledBytes = 0;
    this.onDestroy();
  }
}
