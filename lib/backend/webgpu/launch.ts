/**
 * What every op's plan builds with: the scratch resources it may ask for and the dispatch record it returns.
 * @module
 */
import type { GpuBuffer } from "./buffers.ts";
import type { Launch } from "./runner.ts";

/** A scratch f32 buffer of `size` elements, valid for the dispatches of the op that asked. */
export type Temp = (size: number) => GpuBuffer;
/** Scratch rgba32float textures of `width` × `height` texels for one op's dispatches, and the device's extent limit. */
export interface TexTemp {
  maxDim: number;
  get(width: number, height: number): GPUTexture;
}

/** u32 words of `xs` (floats already bit-cast). */
export const words = (xs: number[]): Uint32Array => Uint32Array.from(xs, (x) => x >>> 0);
/** The device buffer of a live tensor buffer. */
export const gpu = (b: GpuBuffer): GPUBuffer => b.gpu!;
/** ⌈a / b⌉. */
export const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** A dispatch of `groups` workgroups of shader `key` over buffers. */
export function launch(
  key: string,
  source: () => string,
  outs: GpuBuffer[],
  ins: GpuBuffer[],
  params: number[],
  groups: number,
): Launch {
  return { key, source, outs: outs.map(gpu), ins: ins.map(gpu), params: words(params), groups };
}
