/** Bad input gets an error that names the values and what was expected. */
import { assertRejects, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";

await nk.init({ backend: "cpu" });
const F = nk.F;

Deno.test("matmul of mismatched shapes names both shapes", () => {
  assertThrows(() => nk.zeros([2, 3]).matmul(nk.zeros([4, 5])), /Cannot matmul shapes \[2, 3\] and \[4, 5\]/);
  assertThrows(() => nk.zeros([3]).matmul(nk.zeros([3, 2])), /Cannot matmul shapes \[3\] and \[3, 2\]/);
  assertThrows(
    () => nk.zeros([2, 2, 3]).matmul(nk.zeros([3, 3, 1])),
    /Cannot matmul shapes \[2, 2, 3\] and \[3, 3, 1\]/,
  );
});

Deno.test("elementwise ops on unbroadcastable shapes name the op and shapes", () => {
  assertThrows(() => nk.zeros([2, 3]).add(nk.zeros([4])), /Cannot add shapes \[2, 3\] and \[4\]/);
  assertThrows(() => nk.zeros([2]).mul(nk.zeros([3])), /Cannot mul shapes \[2\] and \[3\]/);
});

Deno.test("wrong dtype is named", () => {
  const ids = nk.tensor([1, 2], { dtype: "i32" });
  assertThrows(() => ids.exp(), /Cannot exp a tensor of dtype i32: expected f32/);
  assertThrows(() => F.embedding(nk.zeros([3, 2]), nk.zeros([2])), /expected i32 ids/);
  assertThrows(() => F.crossEntropy(nk.zeros([2, 3]), nk.zeros([2])), /expected i32 targets \[2\]/);
  assertThrows(() => nk.tensor([1.5], { dtype: "i32" }), /non-integer/);
});

Deno.test("shape errors: reshape, slice, permute, axes, layerNorm, creation", () => {
  assertThrows(() => nk.zeros([2, 3]).reshape([4, 2]), /Cannot reshape \[2, 3\] to \[4, 2\]/);
  assertThrows(() => nk.zeros([2, 3]).slice(1, 2, 5), /Cannot slice \[2, 5\) from axis 1 of size 3/);
  assertThrows(() => nk.zeros([2, 3]).permute([0, 0]), /expected a permutation/);
  assertThrows(() => nk.zeros([2, 3]).sum(2), /Cannot sum over axis 2 of a tensor of shape \[2, 3\]/);
  assertThrows(() => F.layerNorm(nk.zeros([2, 3]), nk.ones([4]), nk.zeros([3])), /gain \[4\]/);
  assertThrows(() => nk.tensor([1, 2, 3], { shape: [2, 2] }), /Cannot shape 3 values as \[2, 2\]/);
  assertThrows(() => nk.tensor([[1, 2], [3]]), /ragged/);
  assertThrows(() => nk.zeros([2, -1]), /non-negative integers/);
  assertThrows(() => F.dropout(nk.zeros([2]), 1), /dropout probability 1/);
});

Deno.test("backward of a non-scalar needs a seed of the same shape", () => {
  const x = nk.randn([2, 2], { requiresGrad: true });
  assertThrows(() => x.mul(2).backward(), /shape \[2, 2\] without a seed gradient/);
  assertThrows(() => x.mul(2).backward(nk.ones([3])), /Cannot seed backward\(\) of shape \[2, 2\] with shape \[3\]/);
  assertThrows(() => nk.zeros([1]).backward(), /does not require grad/);
});

Deno.test("use after dispose names the tensor", async () => {
  const x = nk.randn([2, 3]);
  x.dispose();
  assertThrows(() => x.add(1), /Cannot use a disposed tensor \(shape \[2, 3\], made by tensor\)/);
  await assertRejects(() => x.toArray(), /disposed tensor/);
});

Deno.test("mixing tensors of two backends is an error", () => {
  const other = nk.createCpuBackend({ blas: false });
  const a = nk.zeros([2]), b = nk.zeros([2], { backend: other });
  assertThrows(() => a.add(b), /Cannot combine tensors on backends "cpu" and "cpu" in add/);
});

Deno.test("unknown backend and provider names are errors", async () => {
  await assertRejects(() => nk.createBackend({ backend: "tpu" as "cpu" }), /Unknown backend "tpu"/);
  await assertRejects(
    () => nk.createBackend({ backend: "webgpu", provider: "x" as "deno" }),
    /Unknown WebGPU provider "x"/,
  );
});
