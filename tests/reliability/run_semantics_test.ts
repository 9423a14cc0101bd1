/**
 * Run semantics: `--resume` continues the run's own config (only RESUMABLE_KEYS may change; each change is printed,
 * recorded in config-history.jsonl and saved at once), a run folder has one writer (run.lock; a lock left by a
 * killed process is taken over), and a run that fails before its first update leaves nothing behind.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { CheckpointError, loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { train } from "../../lib/train/loop.ts";
import { acquireRunLock, LOCK_FILE, RunLockError, runLockHolder } from "../../lib/train/run_lock.ts";
import { CONFIG_HISTORY_FILE, RESUMABLE_KEYS } from "../../lib/train/resume.ts";
import { cli, exists, rejectsWith, snapshot, TINY_CONFIG, TINY_FLAGS } from "./_helpers.ts";

await init({ backend: "cpu" });
const config = (extra: Record<string, unknown> = {}) =>
  resolveConfig([{ ...TINY_CONFIG, steps: 4, evalEvery: 0, ...extra }]);
const listing = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("cli train --resume: continues the run's own config and says from which step and tokens", async () => {
  const root = await Deno.makeTempDir();
  const flags = [...TINY_FLAGS, "--evalEvery=0", "--out", root, "--name", "r"];
  const first = await cli("train", [...flags, "--steps=4", "--lr=3e-3"]);
  assertEquals(first.code, 0, first.stderr);
  // No flags: the saved steps (4) and lr (3e-3) hold, not the preset's 200 and 1e-3.
  const again = await cli("train", [...flags, "--resume"]);
  assertEquals(again.code, 0, again.stderr);
  assert.match(again.stderr, /resuming from step 4 of 4 \(512 tokens, /);
  assert.match(again.stderr, /done at step 4 after [\d.]+s of training\./);
  assert.ok(!again.stderr.includes("resume: "), again.stderr);
  assertEquals(await exists(`${root}/r/${CONFIG_HISTORY_FILE}`), false);
  // Extending: printed, recorded, saved at once; config.json and the checkpoint's config agree.
  const more = await cli("train", [...flags, "--resume", "--steps=6", "--logEvery=2"]);
  assertEquals(more.code, 0, more.stderr);
  assert.match(more.stderr, /resume: steps 4 → 6 \(the linear schedule now ends at step 6: lr [\d.e-]+ at step 5\)/);
  assert.match(more.stderr, /resume: logEvery 10 → 2/);
  const history = (await Deno.readTextFile(`${root}/r/${CONFIG_HISTORY_FILE}`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(history.length, 1);
  assertEquals(history[0].step, 4);
  assertEquals(history[0].tokens, 512);
  assertEquals(history[0].changes, [{ key: "steps", from: 4, to: 6 }, { key: "logEvery", from: 10, to: 2 }]);
  const saved = JSON.parse(await Deno.readTextFile(`${root}/r/config.json`));
  assertEquals([saved.steps, saved.lr, saved.logEvery], [6, 3e-3, 2]);
  const ckpt = await loadCheckpoint(`${root}/r/checkpoint`);
  assertEquals([ckpt.state.step, ckpt.config.steps, ckpt.config.lr], [6, 6, 3e-3]);
  // A refused change writes nothing.
  const before = await snapshot(root);
  const refused = await cli("train", [...flags, "--resume", "--lr=1e-3"]);
  assertEquals(refused.code, 2);
  assert.match(
    refused.stderr,
    /^error: Cannot change lr when resuming \(run was trained with 0.003, asked for 0.001\)/m,
  );
  assertEquals(await snapshot(root), before);
  assertEquals(listing(`${root}/r`), ["checkpoint", "config-history.jsonl", "config.json", "metrics.jsonl"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("train({ resume }): only RESUMABLE_KEYS may differ from the checkpoint's config, steps not below the step", async () => {
  const dir = await Deno.makeTempDir();
  (await train({ config: config(), runDir: dir })).model.dispose();
  for (
    const [extra, pattern] of [
      [{ lr: 3e-3 }, /^Cannot resume from ".*": cannot change lr when resuming \(run was trained with 0.001/],
      [{ dropout: 0.2 }, /cannot change dropout when resuming/],
      [{ evalTokens: 256 }, /cannot change evalTokens when resuming/],
      [{ steps: 3 }, /cannot set steps to 3 when resuming: the run is already at step 4/],
    ] as const
  ) {
    await rejectsWith(() => train({ config: config(extra), runDir: dir, resume: true }), CheckpointError, pattern);
  }
  assertEquals(listing(dir), ["checkpoint", "config.json", "metrics.jsonl"]);
  const run = await train({ config: config({ steps: 5, checkpointEvery: 5 }), runDir: dir, resume: true });
  assertEquals(run.step, 5);
  run.model.dispose();
  assert.ok(RESUMABLE_KEYS.includes("steps") && !RESUMABLE_KEYS.includes("lr"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run lock: a second writer is refused naming the holder; release frees the folder", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/a/b/run`;
  const lock = await acquireRunLock(dir, "test");
  const e = await rejectsWith(
    () => acquireRunLock(dir),
    RunLockError,
    /^Run folder ".*\/run" is in use by pid \d+ on /,
  );
  assertEquals(e.holder?.pid, Deno.pid);
  assertEquals((await runLockHolder(dir))?.command, "test");
  // train() on a locked folder is refused before it writes anything.
  const before = await snapshot(root);
  await rejectsWith(() => train({ config: config(), runDir: dir }), RunLockError, /in use by pid/);
  assertEquals(await snapshot(root), before);
  await lock.release();
  assertEquals(await runLockHolder(dir), null);
  // The folders the lock created, being empty, went with it.
  assertEquals(listing(root), []);
  const again = await acquireRunLock(dir);
  assertEquals(again.replaced, null);
  await again.release();
  await Deno.remove(root, { recursive: true });
});

Deno.test("run lock: a lock left by a killed process is stale and taken over, naming its pid", async () => {
  const dir = await Deno.makeTempDir();
  const url = new URL("../../lib/train/run_lock.ts", import.meta.url).href;
  // The child takes the lock and exits without releasing it, as a killed run would.
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `await (await import("${url}")).acquireRunLock("${dir}", "holder"); console.log(Deno.pid);`],
    stdout: "piped",
  }).output();
  assert.ok(child.success);
  const pid = Number(new TextDecoder().decode(child.stdout).trim());
  // The child exited without releasing: its lock file remains, but the OS dropped its lock.
  assert.ok(await exists(`${dir}/${LOCK_FILE}`));
  assertEquals(await runLockHolder(dir), null);
  const lock = await acquireRunLock(dir);
  assertEquals(lock.replaced?.pid, pid);
  assertEquals(lock.replaced?.alive, false);
  assertEquals(lock.replaced?.command, "holder");
  await lock.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli train: a second writer of a run folder exits 2 naming the holder, and writes nothing", async () => {
  const root = await Deno.makeTempDir();
  const lock = await acquireRunLock(`${root}/same`, "train");
  const before = await snapshot(root);
  const r = await cli("train", [...TINY_FLAGS, "--steps=2", "--out", root, "--name", "same"]);
  assertEquals(r.code, 2, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assertEquals(errors.length, 1, r.stderr);
  assert.match(errors[0], new RegExp(`in use by pid ${Deno.pid} on .* \\(train, since `));
  assertEquals(await snapshot(root), before);
  await lock.release();
  await Deno.remove(root, { recursive: true });
});

Deno.test("train: a fresh run that fails before its first update leaves nothing behind", async () => {
  const root = await Deno.makeTempDir();
  const nan = (_step: number, loss: { mul(x: number): unknown }) => loss.mul(NaN);
  // A folder it had to make (and the parents it made) is removed.
  await rejectsWith(
    () => train({ config: config({ evalEvery: 2 }), runDir: `${root}/x/run`, afterForward: nan as never }),
    Error,
    /Non-finite loss at step 1/,
  );
  assertEquals(listing(root), []);
  // A folder that was there keeps only what it had.
  await Deno.mkdir(`${root}/kept`);
  await Deno.writeTextFile(`${root}/kept/notes.txt`, "mine");
  await rejectsWith(
    () => train({ config: config({ evalEvery: 2 }), runDir: `${root}/kept`, afterForward: nan as never }),
    Error,
    /Non-finite loss at step 1/,
  );
  assertEquals(listing(`${root}/kept`), ["notes.txt"]);
  // From the CLI: a bad initScales file is found only once the run starts.
  const r = await cli("train", [...TINY_FLAGS, "--steps=2", "--out", `${root}/runs`, "--initScales=nope.json"]);
  assertEquals(r.code, 2, r.stderr);
  assertEquals(listing(root), ["kept"]);
  // A run that fails after its first update keeps its records (and releases its lock).
  await rejectsWith(
    () =>
      train({
        config: config({ evalEvery: 2 }),
        runDir: `${root}/late`,
        afterForward: ((s: number, l: { mul(x: number): unknown }) => s === 3 ? l.mul(NaN) : l) as never,
      }),
    Error,
    /Non-finite loss at step 3/,
  );
  assertEquals(listing(`${root}/late`), ["config.json", "metrics.jsonl"]);
  await Deno.remove(root, { recursive: true });
});
