/** gradNorm and clipGradNorm against a host computation; on-device (no reads), no leaks. */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";
import { clipGradNorm, gradNorm } from "../../lib/optim/clip.ts";

const backend = await nk.init({ backend: "cpu", seed: 3 });
const live = () => backend.memory().liveBuffers;

function setup(scale: number) {
  const shapes = [[5, 7], [7], [3, 2, 4]];
  const params = shapes.map((s, i) => nk.zeros(s).param(`p${i}`));
  const host = params.map((p) => {
    const g = nk.randn(p.shape, { std: scale });
    p.grad = nk.keep(g);
    return g;
  });
  return { params, host };
}

async function hostNorm(grads: nk.Tensor[]): Promise<number> {
  let s = 0;
  for (const g of grads) for (const x of await g.toArray()) s += x * x;
  return Math.sqrt(s);
}

function noReads<T>(fn: () => T): T {
  const read = backend.read;
  backend.read = () => {
    throw new Error("host readback");
  };
  try {
    return fn();
  } finally {
    backend.read = read;
  }
}

Deno.test("gradNorm equals the host L2 norm over every gradient, skipping params without one", async () => {
  const { params } = setup(1);
  const expected = await hostNorm(params.map((p) => p.grad!));
  const extra = nk.ones([3]).param("nograd");
  const before = live();
  const norm = noReads(() => gradNorm([...params, extra]));
  assertEquals(live(), before + 1);
  assertEquals(norm.shape, []);
  assertClose([await norm.item()], [expected], 1e-6);
  norm.dispose();
  for (const p of [...params, extra]) p.dispose(), p.grad?.dispose();
});

Deno.test("gradNorm of parameters without gradients is 0", async () => {
  const p = nk.ones([2]).param("p");
  assertEquals(await gradNorm([p]).item(), 0);
  assertEquals(await gradNorm([]).item(), 0);
});

Deno.test("clipGradNorm scales every gradient by maxNorm/(norm + 1e-6) above the threshold", async () => {
  const { params } = setup(2);
  const before = await Promise.all(params.map((p) => p.grad!.toArray()));
  const expected = await hostNorm(params.map((p) => p.grad!));
  const old = params.map((p) => p.grad!);
  const liveBefore = live();
  const norm = noReads(() => clipGradNorm(params, 1));
  assertEquals(live(), liveBefore + 1); // the returned norm; new grads replace the disposed old ones
  assert.ok(old.every((g) => g.disposed));
  assertClose([await norm.item()], [expected], 1e-6);
  const factor = 1 / (expected + 1e-6);
  for (let i = 0; i < params.length; i++) {
    assertClose(await params[i].grad!.toArray(), before[i].map((x) => x * factor), 1e-6, 1e-7, `grad ${i}`);
  }
  assertClose([await hostNorm(params.map((p) => p.grad!))], [1], 1e-5);
  // The new gradients are kept: a tidy around later work must not free them.
  nk.tidy(() => params[0].grad!.mul(2));
  assert.ok(params.every((p) => !p.grad!.disposed));
  for (const p of params) p.dispose(), p.grad!.dispose();
});

Deno.test("clipGradNorm leaves gradients bit-for-bit unchanged below the threshold", async () => {
  const { params } = setup(0.01);
  const before = await Promise.all(params.map((p) => p.grad!.toArray()));
  const norm = clipGradNorm(params, 100);
  assert.ok((await norm.item()) < 100);
  for (let i = 0; i < params.length; i++) assertEquals(await params[i].grad!.toArray(), before[i]);
  for (const p of params) p.dispose(), p.grad!.dispose();
});

Deno.test("clipGradNorm reports a non-finite norm and rejects a bad maxNorm", async () => {
  const p = nk.zeros([2]).param("p");
  p.grad = nk.keep(nk.tensor([Infinity, 1]));
  assertEquals(await clipGradNorm([p], 1).item(), Infinity);
  assertThrows(() => clipGradNorm([p], 0), /Invalid maxNorm 0: expected a finite number > 0/);
  assertThrows(() => clipGradNorm([p], NaN), /Invalid maxNorm null/);
});
