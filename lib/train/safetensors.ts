/**
 * Reader and writer for the safetensors format (huggingface/safetensors): an 8-byte little-endian header length
 * N, N bytes of UTF-8 JSON mapping each tensor name to `{dtype, shape, data_offsets}` (plus an optional
 * `__metadata__` map of strings), then the raw little-endian tensor bytes. Checkpoints (`model.safetensors`,
 * `optimizer.safetensors`) and the PyTorch golden files in `tests/fixtures/` use it.
 *
 * The reader treats every file as hostile: each check names the tensor, the value and what was expected, and
 * nothing is allocated from a length in the file before that length is checked against the file itself.
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";

/** Element types this library computes in. */
export type SafeDtype = "F32" | "I32";

/** Element types the reader accepts: F16, BF16 and F64 are widened or narrowed to F32, I64 to I32 (range checked). */
export type SourceDtype = SafeDtype | "F16" | "BF16" | "F64" | "I64";

/** One tensor to write: row-major `data` whose length is the product of `shape` (1 for a scalar, `[]`). */
export interface SafeTensor {
  /** Element type; must agree with the array type of `data`. */
  dtype: SafeDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major elements. */
  data: Float32Array | Int32Array;
}

/** One tensor read back; `sourceDtype` says what the file held before any conversion. */
export interface DecodedTensor extends SafeTensor {
  /** The dtype written in the file. */
  sourceDtype: SourceDtype;
}

/** Options for {@linkcode decodeSafetensors}. */
export interface DecodeOptions {
  /** Largest header accepted, in bytes, checked before the header is decoded. Default 100,000,000. */
  maxHeaderBytes?: number;
}

/** The contents of a safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Record<string, DecodedTensor>;
  /** The `__metadata__` map; empty when the file has none. */
  metadata: Record<string, string>;
}

const BYTES: Record<SourceDtype, number> = { F32: 4, I32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };
const KNOWN_UNSUPPORTED = ["BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"];
const DEFAULT_MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const SCRATCH_U32 = new Uint32Array(1);
const SCRATCH_F32 = new Float32Array(SCRATCH_U32.buffer);

function fail(message: string): never {
  throw new Error(message);
}

/** Number of elements of `shape`, or an error naming `what` if a dim is not a non-negative safe integer. */
function elementCount(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) fail(`Shape of ${what} is ${JSON.stringify(shape)}: expected an array of integers`);
  let n = 1;
  for (const dim of shape) {
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      fail(`Shape of ${what} has dim ${JSON.stringify(dim)}: expected a non-negative integer`);
    }
    n *= dim;
    if (!Number.isSafeInteger(n)) fail(`Shape of ${what} [${shape.join(", ")}] has too many elements`);
  }
  return n;
}

/** Bytes of `data` in little-endian order (a view when the host is little-endian). */
function leBytes(data: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i], true);
    else view.setInt32(4 * i, data[i], true);
  }
  return out;
}

/**
 * Encodes tensors as a safetensors file. Names are sorted, data is laid out in the same order, and the header is
 * padded with spaces so the data starts on an 8-byte boundary.
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } }, { v: "1" });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * console.log(tensors.w.data, metadata.v); // Float32Array [1, 2] "1"
 * ```
 */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") fail(`Metadata value for "${k}" is ${JSON.stringify(v)}: expected a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === "__metadata__") fail(`Tensor name "__metadata__" is reserved: choose another name`);
    const arrayDtype = t.data instanceof Float32Array ? "F32" : t.data instanceof Int32Array ? "I32" : "unknown";
    if (t.dtype !== arrayDtype) fail(`Tensor "${name}" has dtype "${t.dtype}" but holds ${arrayDtype} data`);
    const n = elementCount(t.shape, `tensor "${name}"`);
    if (n !== t.data.length) {
      fail(`Tensor "${name}" has shape [${t.shape.join(", ")}] (${n} elements) but ${t.data.length} values`);
    }
    const end = offset + t.data.byteLength;
    parts.push(
      `${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`,
    );
    offset = end;
  }
  // Object key order is not name order for integer-like names, so the header is joined by hand to keep it sorted.
  const json = `{${parts.join(",")}}`;
  const unpadded = new TextEncoder().encode(json).length;
  const headerBytes = new TextEncoder().encode(json + " ".repeat((8 - (unpadded % 8)) % 8));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    out.set(leBytes(tensors[name].data), at);
    at += tensors[name].data.byteLength;
  }
  return out;
}

/**
 * Throws if any object in valid JSON text repeats a key. `JSON.parse` silently keeps the last duplicate, so a
 * hostile file could otherwise show one reader a tensor and another reader a different one.
 */
function assertNoDuplicateKeys(json: string): void {
  const stack: Set<string>[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === "{") stack.push(new Set());
    else if (c === "}") stack.pop();
    else if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === "\\") i++;
      let j = i + 1;
      while (j < json.length && (json[j] === " " || json[j] === "\t" || json[j] === "\n" || json[j] === "\r")) j++;
      if (json[j] !== ":") continue;
      const key: string = JSON.parse(json.slice(start, i + 1));
      const keys = stack[stack.length - 1];
      if (keys.has(key)) fail(`Safetensors header repeats the key "${key}": expected each name once`);
      keys.add(key);
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Copies `src` (little-endian `dtype` elements) into a fresh, aligned array of the library's dtype. */
function convert(name: string, dtype: SourceDtype, src: Uint8Array, n: number): Float32Array | Int32Array {
  if ((dtype === "F32" || dtype === "I32") && LITTLE_ENDIAN) {
    const buf = new ArrayBuffer(4 * n);
    new Uint8Array(buf).set(src);
    return dtype === "F32" ? new Float32Array(buf) : new Int32Array(buf);
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = dtype === "I32" || dtype === "I64" ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(4 * i, true);
    else if (dtype === "I32") out[i] = view.getInt32(4 * i, true);
    else if (dtype === "F64") out[i] = view.getFloat64(8 * i, true);
    else if (dtype === "F16") out[i] = halfToFloat(view.getUint16(2 * i, true));
    else if (dtype === "BF16") {
      SCRATCH_U32[0] = view.getUint16(2 * i, true) << 16;
      out[i] = SCRATCH_F32[0];
    } else {
      const v = view.getBigInt64(8 * i, true);
      if (v < -2147483648n || v > 2147483647n) {
        fail(`Tensor "${name}" holds I64 value ${v} at ${i}: outside the I32 range`);
      }
      out[i] = Number(v);
    }
  }
  return out;
}

/**
 * Decodes a safetensors file, validating it completely: header length and size, UTF-8 and JSON, duplicate keys,
 * dtypes, shapes against byte counts, and offsets that must tile the data section exactly (no gaps, overlaps or
 * trailing bytes). Tensor data is copied out, so every result is an aligned array independent of `bytes`.
 * @example
 * ```ts
 * import { decodeSafetensors } from "./safetensors.ts";
 * try {
 *   decodeSafetensors(new Uint8Array(4));
 * } catch (e) {
 *   console.log((e as Error).message); // File is 4 bytes long: ...
 * }
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeOptions = {}): SafetensorsFile {
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER;
  if (bytes.length < 8) fail(`File is ${bytes.length} bytes long: expected at least the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(maxHeader)) fail(`Header length ${n64} exceeds the limit of ${maxHeader} bytes`);
  const n = Number(n64);
  if (8 + n > bytes.length) {
    fail(`Header length ${n} runs past the end of the file (${bytes.length - 8} bytes after the length field)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(`Header of ${n} bytes is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`Header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`Header is ${JSON.stringify(text.trim().slice(0, 40))}: expected a JSON object`);
  assertNoDuplicateKeys(text);

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SourceDtype; shape: number[]; begin: number; end: number; n: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(info)) fail(`Header "__metadata__" is ${JSON.stringify(info)}: expected an object of strings`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") fail(`Metadata value for "${k}" is ${JSON.stringify(v)}: expected a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (!isPlainObject(info)) fail(`Header entry "${name}" is ${JSON.stringify(info)}: expected an object`);
    for (const key of Object.keys(info)) {
      if (!["dtype", "shape", "data_offsets"].includes(key)) {
        fail(`Header entry "${name}" has unknown field "${key}": expected dtype, shape and data_offsets`);
      }
    }
    const dtype = info.dtype;
    if (typeof dtype !== "string" || !Object.hasOwn(BYTES, dtype)) {
      const why = KNOWN_UNSUPPORTED.includes(dtype as string) ? "unsupported" : "unknown";
      fail(
        `Tensor "${name}" has ${why} dtype ${JSON.stringify(dtype)}: expected one of ${Object.keys(BYTES).join(", ")}`,
      );
    }
    const count = elementCount(info.shape, `tensor "${name}"`);
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`Tensor "${name}" has data_offsets ${JSON.stringify(offsets)}: expected [begin, end] non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`Tensor "${name}" has data_offsets [${begin}, ${end}] out of order: expected begin <= end`);
    const want = count * BYTES[dtype as SourceDtype];
    if (end - begin !== want) {
      fail(
        `Tensor "${name}" has shape [${(info.shape as number[]).join(", ")}] and dtype ${dtype}, which need ${want} ` +
          `bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: dtype as SourceDtype, shape: info.shape as number[], begin, end, n: count });
  }

  const dataLength = bytes.length - 8 - n;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = "the start of the data";
  for (const e of entries) {
    if (e.begin < cursor) fail(`Tensor "${e.name}" starts at byte ${e.begin}, overlapping ${prev} (ends at ${cursor})`);
    if (e.begin > cursor) fail(`Tensor "${e.name}" starts at byte ${e.begin}, leaving a gap after ${prev} (${cursor})`);
    if (e.end > dataLength) {
      fail(`Tensor "${e.name}" ends at byte ${e.end}, past the end of the ${dataLength}-byte data section`);
    }
    cursor = e.end;
    prev = `tensor "${e.name}"`;
  }
  if (cursor !== dataLength) fail(`Data section has ${dataLength - cursor} trailing bytes after ${prev}`);

  const tensors: Record<string, DecodedTensor> = {};
  const base = 8 + n;
  for (const e of entries) {
    const data = convert(e.name, e.dtype, bytes.subarray(base + e.begin, base + e.end), e.n);
    const dtype: SafeDtype = data instanceof Float32Array ? "F32" : "I32";
    const value: DecodedTensor = { dtype, shape: [...e.shape], data, sourceDtype: e.dtype };
    Object.defineProperty(tensors, e.name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/** Reads and decodes a safetensors file (see {@linkcode decodeSafetensors}); errors name the path. */
export async function readSafetensors(path: string | URL, opts?: DecodeOptions): Promise<SafetensorsFile> {
  const bytes = await Deno.readFile(path);
  try {
    return decodeSafetensors(bytes, opts);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Encodes tensors (see {@linkcode encodeSafetensors}) and writes them atomically, so a crash never leaves half a file. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
