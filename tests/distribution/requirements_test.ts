/**
 * What a user sees when the environment lacks something: a too-old Deno, no FFI permission, no WebGPU adapter.
 * Each case gives one line naming what is missing and what still works. Run in child processes, since each needs
 * a different Deno setup.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { checkDenoVersion, MIN_DENO_VERSION } from "../../mod.ts";
import { MOD_URL, runChild } from "./_child.ts";

Deno.test("checkDenoVersion accepts this Deno and equal or newer versions", () => {
  checkDenoVersion();
  for (const v of ["2.0.0", "2.0.1", "2.9.6", "10.0.0", "2.1.0-rc.1"]) checkDenoVersion(v);
});

Deno.test("checkDenoVersion names the found and required versions for an older Deno or none", () => {
  for (const v of ["1.46.3", "1.0.0", "0.9.0"]) {
    assertThrows(
      () => checkDenoVersion(v),
      new RegExp(`^normformer-kit needs Deno ${MIN_DENO_VERSION} or newer, found Deno ${v.replaceAll(".", "\\.")}: `),
    );
  }
  assertThrows(() => checkDenoVersion("2.4.0", "2.10.0"), /needs Deno 2\.10\.0 or newer, found Deno 2\.4\.0/);
  assertThrows(() => checkDenoVersion(null), /found no Deno runtime/);
});

Deno.test("importing mod.ts on a too-old Deno fails with one line naming both versions", async () => {
  const code = `Object.defineProperty(Deno, "version", { value: { ...Deno.version, deno: "1.46.3" } });
    try { await import("${MOD_URL}"); console.log("imported"); } catch (e) { console.log(e.message); }`;
  const r = await runChild(["-A"], code);
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stdout.includes("\n"), `expected one line, got:\n${r.stdout}`);
  assert(/^normformer-kit needs Deno 2\.0\.0 or newer, found Deno 1\.46\.3: upgrade/.test(r.stdout), r.stdout);
});

Deno.test("without --allow-ffi (or any permission) the CPU backend names why and still trains", async () => {
  const code = `import * as nk from "${MOD_URL}";
    const cpu = await nk.init({ backend: "cpu", seed: 1 });
    const w = nk.randn([3, 2], { requiresGrad: true });
    const loss = nk.randn([4, 3]).matmul(w).pow(2).mean();
    loss.backward();
    console.log(JSON.stringify({ kernel: cpu.matmulKernel, loss: await loss.item(), g: (await w.grad.toArray()).length }));`;
  const r = await runChild(["--no-prompt"], code);
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert(/^typescript \(no --allow-ffi: (OpenBLAS|Accelerate) not used\)$/.test(out.kernel), out.kernel);
  assert(Number.isFinite(out.loss) && out.g === 6, r.stdout);
});

Deno.test('init({ backend: "webgpu" }) without an adapter throws one line; the "cpu" backend still works', async (t) => {
  // Vulkan only, with no Vulkan driver: Deno's navigator.gpu finds no adapter.
  const env = { DENO_WEBGPU_BACKEND: "vulkan", VK_ICD_FILENAMES: "/nonexistent", VK_DRIVER_FILES: "/nonexistent" };
  const code = `import * as nk from "${MOD_URL}";
    let error = null;
    try { (await nk.init({ backend: "webgpu" })).destroy(); } catch (e) { error = e.message; }
    const cpu = await nk.init({ backend: "cpu" });
    console.log(JSON.stringify({ error, cpu: await nk.ones([2]).sum().item() }));`;
  const r = await runChild(["-A"], code, { env });
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.split("\n").at(-1)!);
  if (out.error === null) {
    console.log("skipped: an adapter was found even with Vulkan drivers hidden (VK_ICD_FILENAMES=/nonexistent)");
    return;
  }
  await t.step("the message is one line naming the provider, what was tried and the cpu backend", () => {
    assert(!out.error.includes("\n"), out.error);
    assert(/provider "deno"/.test(out.error), out.error);
    assert(/navigator\.gpu\.requestAdapter\(\) returned null/.test(out.error), out.error);
    assert(/backend "cpu"/.test(out.error), out.error);
  });
  assertEquals(out.cpu, 2);
});
