/**
 * The rename swap of `saveCheckpoint`, point by point: at every point of a save the folder as a crash would leave
 * it (copied there) loads as the old or the new checkpoint — never a mix, never an error — and the next save from
 * that leftover state, like resuming from it (`settleCheckpoint`), completes and cleans up. Also the leftovers no
 * save makes but a user might (`<dir>` without a state.json, a stray `<dir>.prev`).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { tensor } from "../../lib/core/create.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import {
  CheckpointError,
  hasCheckpoint,
  loadCheckpoint,
  type RunState,
  saveCheckpoint,
  type SavePoint,
  settleCheckpoint,
} from "../../lib/train/checkpoint.ts";
import { train } from "../../lib/train/loop.ts";
import { rejectsWith, TINY_CONFIG } from "./_helpers.ts";

await init({ backend: "cpu" });
const config = resolveConfig([TINY_CONFIG]);

/** A save whose tensors and state say `step`, so a load tells which save it came from. */
function parts(step: number) {
  const state: RunState = {
    step,
    tokens: 128 * step,
    flops: 1e6 * step,
    time: step,
    rng: [1, 2, 3, step],
    sampler: null,
    metricsLines: step,
    skippedSteps: 0,
  };
  return {
    params: { w: tensor([step, step + 0.5], { shape: [2] }) },
    optimizer: { "w.exp_avg": tensor([0, step], { shape: [2] }) },
    config,
    state,
  };
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

const listing = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("saveCheckpoint: a crash at any point of a save leaves the old or the new checkpoint", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/run/checkpoint`;
  await Deno.mkdir(`${root}/run`);
  await saveCheckpoint(dir, parts(5));
  const crashes: [SavePoint, string][] = [];
  await saveCheckpoint(dir, parts(10), {
    atPoint: async (point) => {
      const copy = `${root}/crash-${crashes.length}`;
      await copyTree(`${root}/run`, copy);
      crashes.push([point, copy]);
    },
  });
  assertEquals(crashes.map(([p]) => p), [
    "tmp created",
    "model written",
    "optimizer written",
    "config written",
    "state written",
    "manifest written",
    "old moved to prev",
    "new in place",
    "prev removed",
  ]);
  for (const [point, copy] of crashes) {
    const ckpt = await loadCheckpoint(`${copy}/checkpoint`);
    const newer = point === "new in place" || point === "prev removed";
    assertEquals(ckpt.state.step, newer ? 10 : 5, point);
    assertEquals(ckpt.dir, `${copy}/checkpoint${point === "old moved to prev" ? ".prev" : ""}`, point);
    assertEquals(Array.from(ckpt.model.w.data), newer ? [10, 10.5] : [5, 5.5], point);
    assert.ok(await hasCheckpoint(`${copy}/checkpoint`), point);
    // A run resuming from the leftover state settles it: one complete folder, the same checkpoint.
    assertEquals(await settleCheckpoint(`${copy}/checkpoint`), `${copy}/checkpoint`, point);
    assertEquals(listing(copy), ["checkpoint"], point);
    assertEquals((await loadCheckpoint(`${copy}/checkpoint`)).state.step, ckpt.state.step, point);
    // Resuming from the leftover state and saving again completes the swap and leaves no stray folder.
    await saveCheckpoint(`${copy}/checkpoint`, parts(15));
    assertEquals(listing(copy), ["checkpoint"], point);
    assertEquals((await loadCheckpoint(`${copy}/checkpoint`)).state.step, 15, point);
  }
  assertEquals(listing(`${root}/run`), ["checkpoint"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadCheckpoint: falls back to <dir>.prev only when <dir> has no state.json", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/checkpoint`;
  await rejectsWith(() => loadCheckpoint(dir), CheckpointError, /no state.json there/);
  assertEquals(await hasCheckpoint(dir), false);
  await saveCheckpoint(dir, parts(5));
  await Deno.rename(dir, `${dir}.prev`);
  await Deno.mkdir(dir); // e.g. a user emptied it
  await Deno.writeTextFile(`${dir}/model.safetensors`, "junk");
  assertEquals((await loadCheckpoint(dir)).state.step, 5);
  await saveCheckpoint(dir, parts(10));
  assertEquals(listing(root), ["checkpoint"]);
  assertEquals((await loadCheckpoint(dir)).state.step, 10);
  // A complete <dir> that fails verification is an error, not a silent step back to an older <dir>.prev.
  await copyTree(dir, `${dir}.prev`);
  const model = await Deno.readFile(`${dir}/model.safetensors`);
  model[model.length - 1] ^= 1;
  await Deno.writeFile(`${dir}/model.safetensors`, model);
  await rejectsWith(() => loadCheckpoint(dir), CheckpointError, /model.safetensors is corrupted or was changed/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("hasCheckpoint and loadCheckpoint: a path under a regular file is no checkpoint, not a crash", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/file`, "");
  assertEquals(await hasCheckpoint(`${root}/file/run/checkpoint`), false);
  await rejectsWith(() => loadCheckpoint(`${root}/file/run/checkpoint`), CheckpointError, /no state.json there/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("train: resuming a finished run from checkpoint.prev leaves one clean checkpoint folder", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = resolveConfig([{ ...TINY_CONFIG, steps: 2, evalEvery: 0 }]);
  (await train({ config: cfg, runDir: dir })).model.dispose();
  // As a kill between the two renames of the final save leaves it, plus a half-written next checkpoint.
  await Deno.rename(`${dir}/checkpoint`, `${dir}/checkpoint.prev`);
  await Deno.mkdir(`${dir}/checkpoint.tmp`);
  await Deno.writeTextFile(`${dir}/checkpoint.tmp/model.safetensors`, "half");
  const run = await train({ config: cfg, runDir: dir, resume: true });
  assertEquals(run.step, 2);
  assertEquals(listing(dir), ["checkpoint", "config.json", "metrics.jsonl"]);
  assertEquals((await loadCheckpoint(`${dir}/checkpoint`)).state.step, 2);
  await Deno.remove(dir, { recursive: true });
});
