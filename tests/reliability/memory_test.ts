/**
 * No leak in the training loop: 60 steps of a tiny model, with an evaluation and a checkpoint every 20, hold the
 * same live device buffers and bytes at step 20 as at step 60, and disposing the result frees every buffer the run
 * made, as does a run that fails. On the CPU backend always; on WebGPU when an adapter exists (else the reason to skip is printed).
 * @module
 */
import { assertEquals, assertRejects } from "../assert.ts";
import type { Backend } from "../../lib/backend/backend.ts";
import { createBackend } from "../../lib/backend/select.ts";
import { setBackend } from "../../lib/core/runtime.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { train } from "../../lib/train/loop.ts";
import { gpuBackendOrReason } from "../backends.ts";
import { TINY_CONFIG } from "./_helpers.ts";

const config = resolveConfig([{ ...TINY_CONFIG, steps: 60, evalEvery: 20, checkpointEvery: 20, dropout: 0.1 }]);

async function checkNoLeak(backend: Backend): Promise<void> {
  setBackend(backend);
  const dir = await Deno.makeTempDir();
  const live = () => {
    const { liveBuffers, liveBytes } = backend.memory();
    return { liveBuffers, liveBytes };
  };
  const before = live();
  const at: Record<number, ReturnType<typeof live>> = {};
  const run = await train({
    config,
    runDir: dir,
    onProgress: (p) => {
      if (p.step % 20 === 0) at[p.step] = live();
    },
  });
  assertEquals(at[60], at[20], `${backend.name}: live memory at steps 20, 40, 60: ${JSON.stringify(at)}`);
  assertEquals(at[40], at[20]);
  run.model.dispose();
  run.optimizer.dispose();
  assertEquals(live(), before, `${backend.name}: buffers left after disposing the model and optimizer`);
  await Deno.remove(dir, { recursive: true });
}

Deno.test("train: no device memory leak over 60 steps on the CPU backend", async () => {
  await checkNoLeak(await createBackend({ backend: "cpu" }));
});

Deno.test("train: a run that fails (non-finite loss, bad checkpoint) frees every buffer it made", async () => {
  const backend = await createBackend({ backend: "cpu" });
  setBackend(backend);
  const before = backend.memory().liveBuffers;
  await assertRejects(
    () => train({ config, afterForward: (step, loss) => (step === 3 ? loss.mul(NaN) : loss) }),
    /Non-finite loss at step 3/,
  );
  assertEquals(backend.memory().liveBuffers, before);
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/checkpoint`);
  await Deno.writeTextFile(`${dir}/checkpoint/state.json`, "{}");
  await assertRejects(() => train({ config, runDir: dir, resume: true }), /Cannot load checkpoint/);
  assertEquals(backend.memory().liveBuffers, before);
  await Deno.remove(dir, { recursive: true });
});

const gpu = await gpuBackendOrReason();
if (typeof gpu === "string") console.log(`memory_test: skipping the WebGPU leak check: ${gpu}`);
Deno.test({
  name: "train: no device memory leak over 60 steps on the WebGPU backend",
  ignore: typeof gpu === "string",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => checkNoLeak(gpu as Backend),
});
