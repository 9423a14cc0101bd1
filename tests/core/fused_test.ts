/** Fused ops against their composite references (float32 CPU), forward and backward, including edge cases. */
import { assertClose, assertNormClose } from "../assert.ts";
import * as nk from "../../mod.ts";
import type { Tensor } from "../../lib/core/tensor.ts";
import { dropoutUniform } from "../../lib/backend/backend.ts";

const backend = await nk.init({ backend: "cpu", seed: 3 });
const F = nk.F;

async function fwdBwd(fn: (...x: Tensor[]) => Tensor, inputs: Tensor[]) {
  for (const x of inputs) x.grad = null;
  const y = fn(...inputs);
  const out = await y.toArray();
  y.mul(nk.randn(y.shape)).sum().backward();
  return { out, grads: await Promise.all(inputs.map((x) => x.grad!.toArray())) };
}

async function compare(fused: (...x: Tensor[]) => Tensor, ref: (...x: Tensor[]) => Tensor, inputs: Tensor[]) {
  nk.setRng(new nk.Rng(9));
  const a = await fwdBwd(fused, inputs);
  nk.setRng(new nk.Rng(9));
  const b = await fwdBwd(ref, inputs);
  assertClose(a.out, b.out, 1e-5, 1e-6, "forward");
  a.grads.forEach((g, i) => assertNormClose(g, b.grads[i], 1e-5, `grad ${i}`));
}

for (const [rows, cols] of [[1, 1], [3, 17], [5, 129]]) {
  Deno.test(`fused softmax = reference at (${rows}, ${cols})`, async () => {
    await compare(F.softmax, F.softmaxRef, [nk.randn([rows, cols], { std: 3, requiresGrad: true })]);
  });
  Deno.test(`fused layerNorm = reference at (${rows}, ${cols})`, async () => {
    const x = nk.randn([rows, cols], { mean: 2, requiresGrad: true });
    const g = nk.randn([cols], { mean: 1, requiresGrad: true }), b = nk.randn([cols], { requiresGrad: true });
    await compare((x, g, b) => F.layerNorm(x, g, b), (x, g, b) => F.layerNormRef(x, g, b), [x, g, b]);
  });
}

Deno.test("fused crossEntropy = reference, including large logits", async () => {
  const ids = nk.tensor([0, 16, 3, 3, 7, 1], { dtype: "i32", shape: [2, 3] });
  for (const std of [1, 1e4]) {
    const x = nk.randn([2, 3, 17], { std, requiresGrad: true });
    await compare((l) => F.crossEntropy(l, ids), (l) => F.crossEntropyRef(l, ids), [x]);
  }
});

Deno.test("softmax of large logits does not overflow; a fully masked row is NaN", async () => {
  const y = await F.softmax(nk.tensor([[1e4, 1e4 - 1, -1e4], [-Infinity, -Infinity, -Infinity]])).toArray();
  assertClose(y, [1 / (1 + Math.exp(-1)), Math.exp(-1) / (1 + Math.exp(-1)), 0, NaN, NaN, NaN], 1e-6);
});

Deno.test("causal mask leaves -inf above the diagonal and softmax ignores it", async () => {
  const s = await F.softmax(F.causalMask(nk.zeros([1, 3, 3]))).toArray();
  assertClose(s, [1, 0, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6);
  const m = await F.causalMask(nk.zeros([2, 3]), -7).toArray(); // Tq 2 < Tk 3: offset diagonal
  assertClose(m, [0, 0, -7, 0, 0, 0]);
});

for (const [b, tq, tk] of [[2, 5, 5], [1, 3, 7], [3, 1, 4], [1, 6, 130]]) {
  Deno.test(`fused causalSoftmax = softmax(causalMask) at (${b}, ${tq}, ${tk})`, async () => {
    const x = nk.randn([b, tq, tk], { std: 3, requiresGrad: true });
    await compare(F.causalSoftmax, (x) => F.softmax(F.causalMask(x)), [x]);
  });
}

Deno.test("causalSoftmax: masked probabilities are exactly 0; queries with no key (Tq > Tk) are NaN", async () => {
  const y = await F.causalSoftmax(nk.tensor([[[1e4, 5], [2, 2]]])).toArray();
  assertClose(y, [1, 0, 0.5, 0.5], 0, 0);
  const z = await F.causalSoftmax(nk.zeros([3, 2])).toArray(); // query 0 sees key j ≤ 0 + (2 − 3) = −1: none
  assertClose(z, [NaN, NaN, 1, 0, 0.5, 0.5], 0, 0);
});

Deno.test("NaN propagates through every reduction and fused op", async () => {
  const x = nk.tensor([[1, NaN, 3]]);
  for (const y of [x.sum(), x.max(), F.softmax(x), F.layerNorm(x, nk.ones([3]), nk.zeros([3]))]) {
    const v = await y.toArray();
    if (!Array.from(v).some(Number.isNaN)) throw new Error(`NaN did not propagate: ${v}`);
  }
  const ce = await F.crossEntropy(x, nk.tensor([0], { dtype: "i32" })).item();
  if (!Number.isNaN(ce)) throw new Error(`crossEntropy of NaN logits is ${ce}`);
});

Deno.test("out-of-range ids and targets give NaN, never a silent value", async () => {
  const table = nk.randn([4, 2]);
  const rows = await F.embedding(table, nk.tensor([1, 4, -1], { dtype: "i32" })).toArray();
  assertClose(rows.slice(2), [NaN, NaN, NaN, NaN]);
  const ce = await F.crossEntropy(nk.randn([1, 4]), nk.tensor([4], { dtype: "i32" })).item();
  if (!Number.isNaN(ce)) throw new Error(`crossEntropy with target 4 of 4 classes is ${ce}`);
});

Deno.test("dropout keeps about 1−p of the values, scaled by 1/(1−p), deterministic under a seed", async () => {
  nk.setRng(new nk.Rng(5));
  const a = await F.dropout(nk.ones([10000]), 0.25).toArray();
  nk.setRng(new nk.Rng(5));
  const b = await F.dropout(nk.ones([10000]), 0.25).toArray();
  assertClose(a, b, 0, 0);
  const kept = a.filter((v) => v !== 0);
  if (Math.abs(kept.length / 10000 - 0.75) > 0.02) throw new Error(`kept ${kept.length} of 10000`);
  assertClose(kept.slice(0, 5), [4 / 3, 4 / 3, 4 / 3, 4 / 3, 4 / 3], 1e-6);
});

Deno.test("dropout is x times the float32 mask of dropoutUniform, bit for bit, and dy gets the same mask", async () => {
  const n = 4099, p = 0.1;
  const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
  xs.set([NaN, Infinity, -0]);
  const x = nk.tensor(xs, { requiresGrad: true }), dy = nk.randn([n]);
  nk.setRng(new nk.Rng(8));
  const seed = new nk.Rng(8).nextU32(); // the draw dropout takes from the generator
  const y = F.dropout(x, p);
  y.backward(dy);
  const keep = Math.fround(1 / (1 - p));
  const mask = Float32Array.from({ length: n }, (_, i) => (dropoutUniform(seed, i) >= p ? keep : 0));
  const times = (a: ArrayLike<number>) => Float32Array.from(mask, (m, i) => a[i] * m);
  assertClose(await y.toArray(), times(xs), 0, 0);
  assertClose(await x.grad!.toArray(), times(await dy.toArray()), 0, 0);
});

Deno.test("dropout keeps nothing for backward but its seed", () => {
  nk.tidy(() => {
    const x = nk.randn([64, 64], { requiresGrad: true });
    const live = () => backend.memory().liveBytes;
    const before = live();
    const y = F.dropout(x, 0.5);
    assertClose([live() - before], [64 * 64 * 4], 0, 0); // y alone
    y.sum().backward();
    x.grad!.dispose();
  });
});
