/**
 * Numerical faults: a NaN or Inf injected into the loss (not only a gradient), an Inf gradient, and a gradient
 * whose norm overflows stop the run naming the step, what was non-finite and the last good checkpoint (which
 * resumes to the clean run's exact result); `skipNonFinite` skips such steps, marks them `skipped` in the metrics
 * and counts them in the checkpoint's `skippedSteps`; the CLI exits 1 with one `error:` line.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { full } from "../../lib/core/create.ts";
import { keep } from "../../lib/core/runtime.ts";
import type { Tensor } from "../../lib/core/tensor.ts";
import type { NormFormerLM } from "../../lib/model/normformer.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { NonFiniteError, train } from "../../lib/train/loop.ts";
import type { TrainRecord } from "../../lib/metrics/records.ts";
import { cli, recordsWithoutTime, rejectsWith, TINY_CONFIG, TINY_FLAGS } from "./_helpers.ts";

await init({ backend: "cpu" });

const config = (extra: Record<string, unknown> = {}) =>
  resolveConfig([{ ...TINY_CONFIG, steps: 10, evalEvery: 5, checkpointEvery: 5, dropout: 0.1, ...extra }]);

/** A loss hook that replaces the loss at `steps` with `loss·0 + value` (finite gradients) or `loss·value`. */
const poisonLoss = (steps: number[], value: number, how: "add" | "mul") => (step: number, loss: Tensor) =>
  steps.includes(step) ? (how === "add" ? loss.mul(0).add(value) : loss.mul(value)) : loss;

/** A gradient hook that sets one parameter's gradient to `value` everywhere at `step`. */
const poisonGrad =
  (at: number, value: number, name = "decoder.layers.0.fc1.weight") => (step: number, model: NormFormerLM) => {
    if (step !== at) return;
    const [, p] = model.namedParameters().find(([n]) => n === name)!;
    p.grad?.dispose();
    p.grad = keep(full(p.shape, value));
  };

async function withRun(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CASES: [string, Record<string, unknown>, RegExp][] = [
  [
    "NaN loss with finite gradients",
    { afterForward: poisonLoss([7], NaN, "add") },
    /^Non-finite loss at step 7 \(loss NaN\)/,
  ],
  ["NaN loss and gradients", { afterForward: poisonLoss([7], NaN, "mul") }, /^Non-finite loss at step 7 \(loss NaN\)/],
  ["+Inf loss", { afterForward: poisonLoss([7], Infinity, "add") }, /^Non-finite loss at step 7 \(loss Infinity\)/],
  [
    "Inf gradient",
    { afterBackward: poisonGrad(7, Infinity) },
    /^Non-finite gradient of "decoder.layers.0.fc1.weight" at step 7 \(loss \d/,
  ],
  [
    "-Inf gradient, clipped",
    { afterBackward: poisonGrad(7, -Infinity), clipNorm: 1 },
    /^Non-finite gradient of "decoder.layers.0.fc1.weight" at step 7 \(loss \d/,
  ],
  [
    "finite gradient whose norm overflows",
    { afterBackward: poisonGrad(7, 1e30) },
    /^Non-finite gradient norm at step 7/,
  ],
];

for (const [what, hooks, pattern] of CASES) {
  Deno.test(`train: ${what} stops naming the step and the last good checkpoint, which resumes exactly`, async () => {
    await withRun(async (dir) => {
      const { clipNorm, ...opts } = hooks as Record<string, unknown> & { clipNorm?: number };
      const cfg = config(clipNorm ? { clipNorm } : {});
      const err = await rejectsWith(() => train({ config: cfg, runDir: `${dir}/b`, ...opts }), NonFiniteError, pattern);
      assert.ok(err.message.includes(`the last good checkpoint is ${dir}/b/checkpoint (step 5)`), err.message);
      assertEquals([err.step, err.checkpoint, err.checkpointStep], [7, `${dir}/b/checkpoint`, 5]);
      assertEquals((await loadCheckpoint(`${dir}/b/checkpoint`)).state.step, 5);
      // Resuming from the last good checkpoint (the fault was transient) gives the clean run, metrics and weights.
      const resumed = await train({ config: cfg, runDir: `${dir}/b`, resume: true });
      const clean = await train({ config: cfg, runDir: `${dir}/a` });
      assertEquals(
        recordsWithoutTime(await Deno.readTextFile(`${dir}/b/metrics.jsonl`)),
        recordsWithoutTime(await Deno.readTextFile(`${dir}/a/metrics.jsonl`)),
      );
      const wb = await resumed.model.stateDict(), wa = await clean.model.stateDict();
      for (const n of Object.keys(wa)) assertEquals(wb[n].data, wa[n].data, n);
    });
  });
}

Deno.test("train: a fault before any checkpoint says none was written", async () => {
  await rejectsWith(
    () => train({ config: config(), afterForward: poisonLoss([2], NaN, "add") }),
    NonFiniteError,
    /^Non-finite loss at step 2 \(loss NaN\); no checkpoint was written; lower the learning rate/,
  );
});

Deno.test("train: skipNonFinite skips NaN/Inf steps, marks them and counts them across a resume", async () => {
  await withRun(async (dir) => {
    const cfg = config({ skipNonFinite: true });
    const hooks = {
      afterForward: poisonLoss([3], NaN, "add"),
      afterBackward: (step: number, model: NormFormerLM) => {
        poisonGrad(7, Infinity)(step, model);
        poisonGrad(8, NaN, "decoder.embed_tokens.weight")(step, model);
      },
    };
    const records: TrainRecord[] = [];
    await train({ config: cfg, runDir: `${dir}/a`, ...hooks, onRecord: (r) => r.kind === "train" && records.push(r) });
    assertEquals(records.filter((r) => r.skipped).map((r) => r.step), [3, 7, 8]);
    assert.ok(records.filter((r) => !r.skipped).every((r) => r.skipped === undefined && Number.isFinite(r.loss)));
    assertEquals((await loadCheckpoint(`${dir}/a/checkpoint`)).state.skippedSteps, 3);
    const onDisk = recordsWithoutTime(await Deno.readTextFile(`${dir}/a/metrics.jsonl`));
    assertEquals(onDisk.filter((r) => r.skipped).map((r) => r.step), [3, 7, 8]);
    // Interrupted after step 6 (one skip so far), resumed: the same records, weights and skip count.
    const abort = new AbortController();
    await train({
      config: cfg,
      runDir: `${dir}/b`,
      ...hooks,
      signal: abort.signal,
      onProgress: (p) => p.step === 6 && abort.abort(),
    });
    assertEquals((await loadCheckpoint(`${dir}/b/checkpoint`)).state.skippedSteps, 1);
    const b = await train({ config: cfg, runDir: `${dir}/b`, ...hooks, resume: true });
    assertEquals(recordsWithoutTime(await Deno.readTextFile(`${dir}/b/metrics.jsonl`)), onDisk);
    assertEquals((await loadCheckpoint(`${dir}/b/checkpoint`)).state.skippedSteps, 3);
    const a = await loadCheckpoint(`${dir}/a/checkpoint`);
    const wb = await b.model.stateDict();
    for (const n of Object.keys(wb)) assertEquals(wb[n].data, a.model[n].data, n);
  });
});

Deno.test("cli: a diverging run exits 1 with one error line naming the step and the last good checkpoint", async () => {
  await withRun(async (dir) => {
    const args = [...TINY_FLAGS, "--steps=6", "--checkpointEvery=1", "--evalEvery=0", "--lr=1e30", "--out", dir];
    const r = await cli("train", [...args, "--name", "x"], { cwd: dir });
    assertEquals(r.code, 1, r.stderr);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assertEquals(errors.length, 1, r.stderr);
    assert.match(
      errors[0],
      /^error: Non-finite (loss|gradient.*) at step (\d+) .*last good checkpoint is .*x\/checkpoint \(step \d+\)/,
    );
  });
});
