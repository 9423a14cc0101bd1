import { assert, assertEquals, assertRejects as rejects, assertThrows as throws } from "../assert.ts";
import { VARIANTS } from "../model/fixture.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafeTensor,
  writeSafetensors,
} from "../../lib/train/safetensors.ts";
import { writeFileAtomic } from "../../lib/train/atomic.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
/** Assert `fn` throws an Error whose message contains `text`. */
const assertThrows = (fn: () => unknown, _: unknown, text: string) => throws(fn, literal(text));
/** Assert `fn` rejects with an Error whose message contains `text`. */
const assertRejects = (fn: () => Promise<unknown>, _: unknown, text: string) => rejects(fn, literal(text));

/** A file from a header text, data bytes and (optionally) a lying header length. */
function raw(header: string, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function f32(...v: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(v).buffer);
}

function headerOf(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

Deno.test("encodeSafetensors and decodeSafetensors round trip F32, I32, scalars, empty tensors and metadata", () => {
  const tensors: Record<string, SafeTensor> = {
    "w": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Infinity]) },
    "ids": { dtype: "I32", shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
    "loss": { dtype: "F32", shape: [], data: new Float32Array([0.25]) },
    "empty": { dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
  };
  const bytes = encodeSafetensors(tensors, { magic: "m", version: "1" });
  const header = headerOf(bytes);
  assertEquals((8 + header.length) % 8, 0);
  assert(/^\{.*\} *$/.test(header), "header is one JSON object padded with spaces");
  assert(header.indexOf('"empty"') < header.indexOf('"ids"') && header.indexOf('"ids"') < header.indexOf('"loss"'));
  const { tensors: got, metadata } = decodeSafetensors(bytes);
  assertEquals(metadata, { magic: "m", version: "1" });
  assertEquals(Object.keys(got).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assertEquals(got[name].dtype, t.dtype);
    assertEquals(got[name].shape, t.shape);
    assertEquals(got[name].data, t.data);
    assertEquals(got[name].sourceDtype, t.dtype);
  }
  assert(Object.is(got.w.data[4], -0));
});

Deno.test("encodeSafetensors sorts integer-like names and keeps names such as __proto__", () => {
  const one = (v: number): SafeTensor => ({ dtype: "F32", shape: [1], data: new Float32Array([v]) });
  const bytes = encodeSafetensors({ "2": one(2), "10": one(10), ["__proto__"]: one(7), "a": one(1) });
  const header = headerOf(bytes);
  const order = ['"10"', '"2"', '"__proto__"', '"a"'].map((k) => header.indexOf(k));
  assertEquals(order, [...order].sort((a, b) => a - b));
  const { tensors } = decodeSafetensors(bytes);
  assertEquals(Object.keys(tensors).sort(), ["10", "2", "__proto__", "a"]);
  assertEquals(Object.getOwnPropertyDescriptor(tensors, "__proto__")?.value.data, new Float32Array([7]));
});

Deno.test("encodeSafetensors rejects a wrong dtype, a wrong element count and the reserved name", () => {
  const data = new Float32Array(6);
  assertThrows(() => encodeSafetensors({ x: { dtype: "I32", shape: [6], data } }), Error, "holds F32 data");
  assertThrows(() => encodeSafetensors({ x: { dtype: "F32", shape: [2, 2], data } }), Error, "but 6 values");
  assertThrows(() => encodeSafetensors({ x: { dtype: "F32", shape: [-6], data } }), Error, "non-negative integer");
  assertThrows(() => encodeSafetensors({ __metadata__: { dtype: "F32", shape: [6], data } }), Error, "reserved");
});

Deno.test("decodeSafetensors copies data into aligned arrays independent of the input", () => {
  // F16 first puts the F32 tensor at an odd offset (2) within the data section.
  const h =
    '{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}';
  const data = new Uint8Array(10);
  data.set([0x00, 0x3c]); // 1.0 in F16
  data.set(f32(3, 4), 2);
  const bytes = raw(h, data);
  const { tensors } = decodeSafetensors(bytes.subarray(0));
  bytes.fill(0);
  assertEquals(tensors.a.data, new Float32Array([1]));
  assertEquals(tensors.b.data, new Float32Array([3, 4]));
  assertEquals(tensors.b.data.byteOffset % 4, 0);
});

Deno.test("decodeSafetensors widens F16, BF16 and F64 to F32 and narrows I64 to I32", () => {
  const h =
    '{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},' +
    '"d":{"dtype":"F64","shape":[1],"data_offsets":[12,20]},"i":{"dtype":"I64","shape":[2],"data_offsets":[20,36]}}';
  const data = new Uint8Array(36);
  const v = new DataView(data.buffer);
  [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((x, i) => v.setUint16(2 * i, x, true)); // 1, -2, 2^-24, inf
  [0x3f80, 0xc0a0].forEach((x, i) => v.setUint16(8 + 2 * i, x, true)); // 1, -5
  v.setFloat64(12, 0.1, true);
  v.setBigInt64(20, -3n, true);
  v.setBigInt64(28, 2147483647n, true);
  const { tensors } = decodeSafetensors(raw(h, data));
  assertEquals(tensors.h.data, new Float32Array([1, -2, 2 ** -24, Infinity]));
  assertEquals(tensors.b.data, new Float32Array([1, -5]));
  assertEquals(tensors.d.data, new Float32Array([0.1]));
  assertEquals([tensors.d.dtype, tensors.d.sourceDtype], ["F32", "F64"]);
  assertEquals(tensors.i.data, new Int32Array([-3, 2147483647]));
  v.setBigInt64(28, 2147483648n, true);
  assertThrows(() => decodeSafetensors(raw(h, data)), Error, "outside the I32 range");
});

const ONE = '"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
const hostile: [string, () => Uint8Array, string][] = [
  ["a file shorter than the length field", () => new Uint8Array(5), "expected at least the 8-byte"],
  [
    "a header length past the end of the file",
    () => raw(`{${ONE}}`, f32(1, 2), 1000n),
    "runs past the end of the file",
  ],
  ["a huge header length", () => raw("{}", new Uint8Array(0), 1n << 40n), "exceeds the limit"],
  ["a header length near 2^64", () => raw("{}", new Uint8Array(0), (1n << 64n) - 1n), "exceeds the limit"],
  ["invalid UTF-8", () => raw('{"a":1}').map((b, i) => i === 10 ? 0xff : b), "not valid UTF-8"],
  ["invalid JSON", () => raw('{"x": {"dtype": "F32",'), "not valid JSON"],
  ["a JSON array header", () => raw("[1, 2]"), "expected a JSON object"],
  ["a JSON string header", () => raw('"x"'), "expected a JSON object"],
  ["a null header", () => raw("null"), "expected a JSON object"],
  ["a non-object __metadata__", () => raw('{"__metadata__":[1]}'), "expected an object of strings"],
  ["a non-string metadata value", () => raw('{"__metadata__":{"v":1}}'), 'Metadata value for "v"'],
  ["a non-object entry", () => raw('{"x":5}'), 'Header entry "x" is 5'],
  ["an unknown field", () => raw('{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4],"y":1}}', f32(1)), '"y"'],
  ["an unknown dtype", () => raw('{"x":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}', f32(1)), "unknown dtype"],
  [
    "a dtype named like an Object property",
    () => raw('{"x":{"dtype":"constructor","shape":[1],"data_offsets":[0,4]}}', f32(1)),
    "unknown dtype",
  ],
  ["an unsupported dtype", () => raw('{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', f32(1)), "unsupported"],
  ["a missing dtype", () => raw('{"x":{"shape":[1],"data_offsets":[0,4]}}', f32(1)), "unknown dtype undefined"],
  [
    "a shape that is not an array",
    () => raw('{"x":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', f32(1, 2)),
    "array",
  ],
  ["a negative dim", () => raw('{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', f32(1, 2)), "dim -2"],
  ["a fractional dim", () => raw('{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}', f32(1, 2)), "dim 1.5"],
  ["a string dim", () => raw('{"x":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', f32(1, 2)), 'dim "2"'],
  [
    "a shape whose element count overflows",
    () => raw('{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', f32(1, 2)),
    "too many elements",
  ],
  [
    "a shape that disagrees with the bytes",
    () => raw('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32(1, 2)),
    "need 12 bytes",
  ],
  [
    "malformed data_offsets",
    () => raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}', f32(1, 2)),
    "[begin, end]",
  ],
  ["negative data_offsets", () => raw('{"x":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}'), "[begin, end]"],
  [
    "reversed data_offsets",
    () => raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', f32(1, 2)),
    "out of order",
  ],
  [
    "overlapping tensors",
    () => raw(`{${ONE},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(1, 2, 3)),
    'Tensor "y" starts at byte 4, overlapping tensor "x"',
  ],
  [
    "a gap between tensors",
    () => raw(`{${ONE},"y":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`, f32(1, 2, 3, 4)),
    "leaving a gap",
  ],
  [
    "a first tensor not at byte 0",
    () => raw('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)),
    "gap",
  ],
  ["a tensor past the data", () => raw(`{${ONE}}`, f32(1)), "past the end of the 4-byte data section"],
  ["trailing bytes", () => raw(`{${ONE}}`, f32(1, 2, 3)), "4 trailing bytes"],
  ["a duplicate tensor name", () => raw(`{${ONE},${ONE}}`, f32(1, 2)), 'repeats the key "x"'],
  ["a duplicate spelled with an escape", () => raw(`{${ONE},${ONE.replace('"x"', '"\\u0078"')}}`, f32(1, 2)), '"x"'],
  ["a duplicate metadata key", () => raw('{"__metadata__":{"a":"1","a":"2"}}'), 'repeats the key "a"'],
  ["a duplicate __metadata__", () => raw('{"__metadata__":{},"__metadata__":{}}'), '"__metadata__"'],
];
for (const [what, make, message] of hostile) {
  Deno.test(`decodeSafetensors rejects ${what}`, () => {
    assertThrows(() => decodeSafetensors(make()), Error, message);
  });
}

Deno.test("decodeSafetensors checks maxHeaderBytes before decoding the header", () => {
  const bytes = encodeSafetensors({ x: { dtype: "F32", shape: [1], data: new Float32Array(1) } });
  assertThrows(() => decodeSafetensors(bytes, { maxHeaderBytes: 16 }), Error, "exceeds the limit of 16 bytes");
});

Deno.test("decodeSafetensors accepts keys that only look like duplicates", () => {
  // Same key in different objects, and a key-like string used as a value, are not duplicates.
  const h = '{"__metadata__":{"dtype":"x","shape":"y"},"x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}';
  assertEquals(decodeSafetensors(raw(h)).metadata, { dtype: "x", shape: "y" });
});

Deno.test("writeSafetensors and readSafetensors round trip through a file, and read errors name the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.safetensors`;
    await writeSafetensors(path, { a: { dtype: "I32", shape: [2], data: new Int32Array([5, 6]) } }, { k: "v" });
    const { tensors, metadata } = await readSafetensors(path);
    assertEquals([tensors.a.data, metadata], [new Int32Array([5, 6]), { k: "v" }]);
    await Deno.writeFile(path, new Uint8Array(3));
    await assertRejects(() => readSafetensors(path), Error, `Cannot read ${path}: File is 3 bytes long`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic replaces a file and leaves no temporary file behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.json`;
    await writeFileAtomic(path, new TextEncoder().encode("old"));
    await writeFileAtomic(path, new TextEncoder().encode("new contents"));
    assertEquals(await Deno.readTextFile(path), "new contents");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
    await assertRejects(() => writeFileAtomic(`${dir}/missing/x`, new Uint8Array(1)), Error, "atomically");
    await Deno.mkdir(`${dir}/adir`);
    await assertRejects(() => writeFileAtomic(`${dir}/adir`, new Uint8Array(1)), Error, "atomically");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["adir", "state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- PyTorch-made fixtures (tests/fixtures/make_fixtures.py) ----

Deno.test("ops.safetensors fixture loads with its magic, version and consistent values", async () => {
  const { tensors: t, metadata } = await readSafetensors(new URL("ops.safetensors", FIXTURES));
  assertEquals([metadata.magic, metadata.version, metadata.kind], ["normformer-kit-fixture", "1", "ops"]);
  assertEquals(t["attention.q"].shape, [2, 2, 5, 4]);
  assertEquals(t["cross_entropy.loss"].shape, []);
  assertEquals(t["embedding.ids"].dtype, "I32");
  const x = t["relu_squared.x"].data, y = t["relu_squared.y"].data;
  for (let i = 0; i < x.length; i++) assertEquals(y[i], Math.fround(Math.max(x[i], 0) ** 2));
  const a = t["matmul.a"].data, b = t["matmul.b"].data, c = t["matmul.y"].data;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 5; k++) s += a[i * 5 + k] * b[k * 4 + j];
      assert(Math.abs(s - c[i * 4 + j]) < 1e-5, `matmul.y[${i},${j}]`);
    }
  }
});

/** The fairseq state-dict names and shapes the config implies. */
function expectedParams(c: Record<string, any>): Record<string, number[]> {
  const { vocab: V, d, dff, heads } = c;
  const p: Record<string, number[]> = { "decoder.embed_tokens.weight": [V, d] };
  const ln = (name: string, w: number) => Object.assign(p, { [`${name}.weight`]: [w], [`${name}.bias`]: [w] });
  for (let i = 0; i < c.layers; i++) {
    const l = `decoder.layers.${i}.`;
    for (const proj of ["q", "k", "v", "out"]) {
      Object.assign(p, { [`${l}self_attn.${proj}_proj.weight`]: [d, d], [`${l}self_attn.${proj}_proj.bias`]: [d] });
    }
    ln(`${l}self_attn_layer_norm`, d);
    ln(`${l}final_layer_norm`, d);
    Object.assign(p, { [`${l}fc1.weight`]: [dff, d], [`${l}fc1.bias`]: [dff], [`${l}fc2.weight`]: [d, dff] });
    p[`${l}fc2.bias`] = [d];
    if (c.postAttnNorm) ln(`${l}attn_ln`, d);
    if (c.ffnNorm) ln(`${l}ffn_layernorm`, dff);
    if (c.headScale) p[`${l}c_attn`] = [heads];
    if (c.residScale) p[`${l}w_resid`] = [d];
  }
  if (c.arch === "preln") ln("decoder.layer_norm", d);
  return p;
}

for (const variant of VARIANTS) {
  Deno.test(`model_${variant}.safetensors fixture matches its config`, async () => {
    const { tensors: t, metadata } = await readSafetensors(new URL(`model_${variant}.safetensors`, FIXTURES));
    assertEquals([metadata.magic, metadata.version, metadata.kind], ["normformer-kit-fixture", "1", "model"]);
    assertEquals(metadata.variant, variant);
    const c = JSON.parse(metadata.config);
    const B = Number(metadata.batch), T = Number(metadata.seqLen);
    const params = expectedParams(c);
    const names = Object.keys(t).filter((n) => n.startsWith("decoder."));
    assertEquals(names.sort(), Object.keys(params).sort());
    for (const [name, shape] of Object.entries(params)) {
      assertEquals(t[name].shape, shape, name);
      assertEquals(t[`grad.${name}`].shape, shape, `grad.${name}`);
    }
    assertEquals(Object.keys(t).filter((n) => n.startsWith("grad.")).length, names.length);
    assertEquals([t["batch.inputs"].dtype, t["batch.inputs"].shape, t["batch.targets"].shape], ["I32", [B, T], [B, T]]);
    assert(![...t["batch.inputs"].data, ...t["batch.targets"].data].some((id) => id === 1 || id < 0 || id >= c.vocab));
    assertEquals([t["out.logits"].shape, t["out.loss"].shape, t["traj.loss"].shape], [[B, T, c.vocab], [], [10]]);
    assertEquals(t["traj.loss"].data[0], t["out.loss"].data[0]);
  });
}
