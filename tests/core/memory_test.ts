/** Memory: tidy releases intermediates, keeps results and gradients; backward frees its graph. */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";

const backend = await nk.init({ backend: "cpu" });
const live = () => backend.memory().liveBuffers;

Deno.test("tidy disposes intermediates and keeps the returned tensor", async () => {
  const before = live();
  const y = nk.tidy(() => nk.randn([4, 4]).exp().add(1).sum());
  assertEquals(live(), before + 1);
  assert.ok((await y.item()) > 16);
  y.dispose();
  assertEquals(live(), before);
});

Deno.test("a training-style step inside tidy leaks nothing across 50 iterations", () => {
  const w = nk.randn([8, 8], { requiresGrad: true });
  const x = nk.randn([4, 8]);
  const step = () =>
    nk.tidy(() => {
      w.grad?.dispose();
      w.grad = null;
      const loss = nk.F.layerNorm(x.matmul(w), nk.ones([8]), nk.zeros([8])).gelu().mean();
      loss.backward();
    });
  step();
  const after1 = live();
  for (let i = 0; i < 50; i++) step();
  assertEquals(live(), after1);
  assert.ok(w.grad !== null && !w.grad.disposed);
});

Deno.test("backward frees each rule's temporaries and consumed gradients before the scope closes", () => {
  nk.tidy(() => {
    const w1 = nk.randn([8, 8], { requiresGrad: true }), w2 = nk.randn([8, 4], { requiresGrad: true });
    const loss = nk.randn([2, 3, 8]).matmul(w1).gelu().matmul(w2).sum();
    const before = live();
    loss.backward();
    // Only the two weight gradients remain: the gradients of the hidden activations (made by matmul's rule and
    // handed on as views) are gone once the ops before them have used them.
    assertEquals(live(), before + 2);
    w1.grad!.dispose();
    w2.grad!.dispose();
  });
});

Deno.test("a disposed activation passes gradients on when no rule reads it; a rule that reads it says so", async () => {
  const x = nk.tensor([0, 1, 2], { requiresGrad: true });
  const h = x.mul(2); // affine: its rule reads nothing
  const y = h.exp(); // exp's rule reads its output, not h
  h.dispose();
  y.sum().backward();
  assertClose(await x.grad!.toArray(), [0, 1, 2].map((v) => 2 * Math.exp(2 * v)), 1e-6);
  const w = nk.tensor([1, 2], { requiresGrad: true });
  const hw = w.mul(2), sq = hw.mul(hw); // mul's rule reads both inputs
  hw.dispose();
  assertThrows(() => sq.sum().backward(), /Cannot use a disposed tensor \(shape \[2\], made by affine\)/);
});

Deno.test("views share storage until the last one is disposed", async () => {
  const x = nk.tensor([1, 2, 3, 4]);
  const v = x.reshape([2, 2]);
  x.dispose();
  assertEquals(Array.from(await v.toArray()), [1, 2, 3, 4]);
  const before = live();
  v.dispose();
  assertEquals(live(), before - 1);
});

Deno.test("gradients accumulate across backward calls until cleared", async () => {
  const x = nk.tensor([1, 2], { requiresGrad: true });
  x.mul(x).sum().backward();
  x.mul(3).sum().backward();
  assertEquals(Array.from(await x.grad!.toArray()), [5, 7]);
});

Deno.test("noGrad records no graph", () => {
  const x = nk.randn([2], { requiresGrad: true });
  const y = nk.noGrad(() => x.mul(2));
  assertEquals(y.requiresGrad, false);
});
