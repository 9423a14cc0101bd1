/**
 * The command stream: pipelines cached by shader key, dispatches batched into one command encoder (one compute
 * pass) and submitted only when a readback needs them or a batch limit is hit, and a parameter arena that packs
 * every dispatch's attributes into one uniform buffer per batch (one writeBuffer per submit, no GPU buffer per
 * dispatch). Queue order makes reuse safe: a batch's writeBuffer calls run before its submit and after the previous
 * one, so the one uniform buffer and pooled temporaries can be refilled for the next batch without waiting.
 * @module
 */
import { type BufferPool, MAP_READ_MODE, type Pooled, READ_USAGE, UPLOAD_USAGE, USAGE } from "./buffers.ts";
import { PARAM_SLOTS } from "./wgsl/common.wgsl.ts";

/**
 * One compute dispatch: shader key and source, resources (outputs read_write, then inputs read), params, grid. A
 * texture output binds as an rgba32float write-only storage texture, a texture input as a sampled float texture.
 */
export interface Launch {
  /** Pipeline cache key; must determine `source()` fully. */
  key: string;
  /** WGSL source, built only on a cache miss. */
  source: () => string;
  /** Bound read_write at bindings 1.. */
  outs: Pooled[];
  /** Bound read-only after the outputs. */
  ins: Pooled[];
  /** Up to PARAM_SLOTS − 4 u32 words (floats already bit-cast), bound as the uniform at binding 0. */
  params: Uint32Array;
  /** Workgroup count; spread over a 2-D grid when over the 65535-per-dimension limit. */
  groups: number;
}

/**
 * A buffer-to-texture copy, where a buffer already holds a texture's layout (the matmul's aligned operands): rows of
 * `bytesPerRow` bytes (a multiple of 256) into `width` × `height` rgba32float texels. On llvmpipe it is a memcpy,
 * ~50× cheaper than a packing dispatch.
 */
export interface TextureCopy {
  from: GPUBuffer;
  to: GPUTexture;
  bytesPerRow: number;
  width: number;
  height: number;
}

/** One step of an op's plan: a dispatch or a texture copy. */
export type Step = Launch | TextureCopy;

const SLOT_BYTES = PARAM_SLOTS * 4;
const isTex = (r: Pooled): r is GPUTexture => "createView" in r;
/** Dispatches per submit; bounds the arena and the temporaries a batch holds. */
const MAX_DISPATCHES = 512;
/** Bind groups kept (least recently used dropped first). */
const MAX_BIND_GROUPS = 4096;

/** Batches dispatches and copies for one device. */
export class Runner {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  #pipelines = new Map<string, GPUComputePipeline>();
  #layouts = new Map<string, [GPUBindGroupLayout, GPUPipelineLayout]>();
  #paramBuffer: GPUBuffer;
  #arena = new Uint32Array(MAX_DISPATCHES * PARAM_SLOTS);
  #slots = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #afterSubmit: Pooled[] = [];
  #bindGroups = new Map<string, GPUBindGroup>();
  #ids = new WeakMap<Pooled, number>();
  #views = new WeakMap<GPUTexture, GPUTextureView>();
  #nextId = 1;
  /** Largest workgroup count per grid dimension. */
  readonly maxGroups: number;

  constructor(device: GPUDevice, pool: BufferPool) {
    this.device = device;
    this.pool = pool;
    this.maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    this.#paramBuffer = device.createBuffer({ size: this.#arena.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST });
    pool.onDestroy = () => this.#bindGroups.clear(); // a cached bind group may name the destroyed buffer
  }

  /** Number of dispatches waiting for the next submit. */
  get pending(): number {
    return this.#slots;
  }

  /** Submit first if fewer than `n` dispatch slots are left, so an op's copies and dispatches share a batch. */
  ensureRoom(n: number): void {
    if (this.#slots + n > MAX_DISPATCHES) this.flush();
  }

  /** Encode one dispatch (or texture copy) into the open batch. */
  dispatch(l: Step): void {
    if ("from" in l) return this.#copyToTexture(l);
    if (l.groups === 0) return;
    if (this.#slots === MAX_DISPATCHES) this.flush();
    const slot = this.#slots++;
    const base = slot * PARAM_SLOTS;
    this.#arena.set(l.params, base);
    // The last words of every slot hold NaN, +∞ and −∞: WGSL cannot spell them as constants.
    this.#arena.set([0x7fc00000, 0x7f800000, 0xff800000], base + PARAM_SLOTS - 3);
    const [bgl, layout] = this.#layout(l.outs.map(isTex), l.ins.map(isTex));
    let pipeline = this.#pipelines.get(l.key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: l.key, code: l.source() });
      pipeline = this.device.createComputePipeline({ label: l.key, layout, compute: { module, entryPoint: "main" } });
      this.#pipelines.set(l.key, pipeline);
    }
    const pass = this.#openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.#bindGroup(bgl, [...l.outs, ...l.ins]), [slot * SLOT_BYTES]);
    const x = Math.min(l.groups, this.maxGroups);
    pass.dispatchWorkgroups(x, Math.ceil(l.groups / x));
  }

  /** Copy `bytes` bytes between buffers, ordered after every dispatch so far. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    this.#closePass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  #copyToTexture(c: TextureCopy): void {
    this.#closePass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToTexture({ buffer: c.from, bytesPerRow: c.bytesPerRow }, { texture: c.to }, [
      c.width,
      c.height,
    ]);
  }

  /** Write host data into `dst`, ordered after the queued dispatches (through a staging copy when any exist). */
  write(dst: GPUBuffer, data: Uint8Array<ArrayBuffer>): void {
    if (!this.#encoder) {
      this.device.queue.writeBuffer(dst, 0, data);
      return;
    }
    const stage = this.pool.acquire(dst.size, UPLOAD_USAGE);
    this.device.queue.writeBuffer(stage, 0, data);
    this.copy(stage, dst, data.byteLength);
    this.releaseAfterSubmit(stage);
  }

  /** Copy `bytes` bytes of `src` to the host after all queued work. */
  async read(src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const stage = this.pool.acquire(src.size, READ_USAGE);
    this.copy(src, stage, src.size);
    this.flush();
    await stage.mapAsync(MAP_READ_MODE, 0, src.size);
    const out = stage.getMappedRange(0, src.size).slice(0, bytes);
    stage.unmap();
    this.pool.release(stage);
    return out;
  }

  /** Give `buffer` back to the pool once the current batch is submitted. */
  releaseAfterSubmit(buffer: Pooled): void {
    this.#afterSubmit.push(buffer);
  }

  /** Submit the open batch (no wait). */
  flush(): void {
    this.#closePass();
    if (this.#slots > 0) {
      this.device.queue.writeBuffer(this.#paramBuffer, 0, this.#arena.subarray(0, this.#slots * PARAM_SLOTS));
    }
    if (this.#encoder) this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#slots = 0;
    for (const b of this.#afterSubmit.splice(0)) this.pool.release(b);
    this.pool.trim();
  }

  /** Release the uniform buffer and pipelines (the device is destroyed by the caller). */
  destroy(): void {
    this.#pass = null;
    this.#encoder = null;
    this.#paramBuffer.destroy();
    this.#pipelines.clear();
    this.#bindGroups.clear();
  }

  /**
   * A bind group for these buffers, cached: creating one costs ~20 µs in Deno's WebGPU, more than the dispatch,
   * and a training step binds the same pooled buffers in the same order every step. The params slot is a dynamic
   * offset, so it does not split the cache.
   */
  #bindGroup(layout: GPUBindGroupLayout, buffers: Pooled[]): GPUBindGroup {
    const key = buffers.map((b) => {
      let id = this.#ids.get(b);
      if (id === undefined) this.#ids.set(b, id = this.#nextId++);
      return id;
    }).join(",") + `/${buffers.length}`;
    let bg = this.#bindGroups.get(key);
    if (bg) {
      this.#bindGroups.delete(key); // refresh its place in the LRU order
    } else {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.#paramBuffer, size: SLOT_BYTES } }];
      buffers.forEach((r, i) => entries.push({ binding: i + 1, resource: isTex(r) ? this.#view(r) : { buffer: r } }));
      bg = this.device.createBindGroup({ layout, entries });
      if (this.#bindGroups.size >= MAX_BIND_GROUPS) this.#bindGroups.delete(this.#bindGroups.keys().next().value!);
    }
    this.#bindGroups.set(key, bg);
    return bg;
  }

  #view(t: GPUTexture): GPUTextureView {
    let v = this.#views.get(t);
    if (!v) this.#views.set(t, v = t.createView());
    return v;
  }

  #openPass(): GPUComputePassEncoder {
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#pass ??= this.#encoder.beginComputePass();
  }

  #closePass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /**
   * Bind group layout: binding 0 the params uniform, then the outputs (read_write storage buffers or write-only
   * rgba32float storage textures), then the inputs (read-only storage buffers or float textures); flags say which
   * are textures.
   */
  #layout(outs: boolean[], ins: boolean[]): [GPUBindGroupLayout, GPUPipelineLayout] {
    const code = (t: boolean[], b: string) => t.map((x) => (x ? "t" : b)).join("");
    const key = `${code(outs, "w")}/${code(ins, "r")}`;
    let hit = this.#layouts.get(key);
    if (!hit) {
      const COMPUTE = 0x4; // GPUShaderStage.COMPUTE
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } },
      ];
      [...outs, ...ins].forEach((tex, i) => {
        const out = i < outs.length, binding = i + 1, visibility = COMPUTE;
        if (!tex) entries.push({ binding, visibility, buffer: { type: out ? "storage" : "read-only-storage" } });
        else if (out) {
          entries.push({ binding, visibility, storageTexture: { access: "write-only", format: "rgba32float" } });
        } else entries.push({ binding, visibility, texture: { sampleType: "unfilterable-float" } });
      });
      const bgl = this.device.createBindGroupLayout({ entries });
      hit = [bgl, this.device.createPipelineLayout({ bindGroupLayouts: [bgl] })];
      this.#layouts.set(key, hit);
    }
    return hit;
  }
}
