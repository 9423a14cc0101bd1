/** The training loop: learning, exact resume, non-finite handling, checkpoint integrity. */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { NonFiniteError, train } from "../../lib/train/loop.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { parseRecords } from "../../lib/metrics/records.ts";
import type { EvalRecord, TrainRecord } from "../../lib/metrics/records.ts";
import { full } from "../../lib/core/create.ts";
import { keep } from "../../lib/core/runtime.ts";

await init({ backend: "cpu" });

const base = {
  preset: "tiny",
  corpus: "fixture",
  layers: 2,
  dModel: 32,
  heads: 2,
  dFF: 64,
  contextLength: 32,
  batchSize: 4,
  steps: 20,
  warmup: 4,
  lr: 3e-3,
  evalEvery: 10,
  evalTokens: 1024,
  dropout: 0.1,
  gradStats: true,
};
const config = (extra: Record<string, unknown> = {}) => resolveConfig([{ ...base, ...extra }]);
const withoutTime = (text: string) =>
  parseRecords(text).map((r) => {
    const { time: _t, ...rest } = r;
    return rest;
  });

Deno.test("train: validation loss falls on the fixture corpus", async () => {
  const records: EvalRecord[] = [];
  await train({ config: config({ steps: 40 }), onRecord: (r) => r.kind === "eval" && records.push(r) });
  assert.ok(records.length >= 3);
  assert.ok(records.at(-1)!.loss < records[0].loss - 0.5, `valid loss ${records[0].loss} → ${records.at(-1)!.loss}`);
  assert.ok(records.every((r) => r.bpb > 0 && Math.abs(r.ppl - Math.exp(r.loss)) < 1e-9));
});

Deno.test("train: N steps + resume + N steps equals 2N steps exactly (metrics and weights)", async () => {
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  const a = await train({ config: config(), runDir: dirA });
  const abort = new AbortController();
  const b1 = await train({
    config: config(),
    runDir: dirB,
    signal: abort.signal,
    onProgress: (p) => p.step === 9 && abort.abort(),
  });
  assertEquals(b1.stopped, "interrupted");
  assertEquals(b1.step, 9);
  const b2 = await train({ config: config(), runDir: dirB, resume: true });
  assertEquals(b2.step, 20);
  assertEquals(
    withoutTime(await Deno.readTextFile(`${dirB}/metrics.jsonl`)),
    withoutTime(await Deno.readTextFile(`${dirA}/metrics.jsonl`)),
  );
  const wa = await a.model.stateDict(), wb = await b2.model.stateDict();
  for (const name of Object.keys(wa)) assertEquals(wb[name].data, wa[name].data, name);
  await Deno.remove(dirA, { recursive: true });
  await Deno.remove(dirB, { recursive: true });
});

Deno.test("train: an injected NaN gradient stops the run naming the step, parameter and last checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const poison = (
    step: number,
    model: { namedParameters(): [string, { grad: unknown; shape: readonly number[] }][] },
  ) => {
    if (step !== 7) return;
    const [, p] = model.namedParameters().find(([n]) => n === "decoder.layers.1.fc2.weight")!;
    (p.grad as { dispose(): void }).dispose();
    p.grad = keep(full(p.shape, NaN));
  };
  await assertRejects(
    () => train({ config: config({ checkpointEvery: 5 }), runDir: dir, afterBackward: poison as never }),
    /Non-finite gradient of "decoder.layers.1.fc2.weight" at step 7 .*last good checkpoint is .*checkpoint/,
  );
  const state = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/state.json`));
  assertEquals(state.step, 5);
  const skipped: TrainRecord[] = [];
  await train({
    config: config({ skipNonFinite: true }),
    afterBackward: poison as never,
    onRecord: (r) => r.kind === "train" && r.skipped && skipped.push(r),
  });
  assertEquals(skipped.map((r) => r.step), [7]);
  await Deno.remove(dir, { recursive: true });
  assert.ok(NonFiniteError.prototype instanceof Error);
});

Deno.test("train: a tampered or foreign checkpoint is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  await train({ config: config({ steps: 4, evalEvery: 0 }), runDir: dir });
  const path = `${dir}/checkpoint/model.safetensors`;
  const bytes = await Deno.readFile(path);
  await assertRejects(
    () => train({ config: config({ steps: 8, arch: "preln" }), runDir: dir, resume: true }),
    /Cannot resume from ".*": the checkpoint has arch "normformer", the config "preln"/,
  );
  bytes[bytes.length - 1] ^= 0xff;
  await Deno.writeFile(path, bytes);
  await assertRejects(
    () => train({ config: config({ steps: 8 }), runDir: dir, resume: true }),
    /model.safetensors is corrupted or was changed/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: a second training in the same process while one runs is refused, naming the running one", async () => {
  const first = train({ config: config({ steps: 2, warmup: 1, evalEvery: 0 }) });
  await assertRejects(
    () => train({ config: config({ steps: 2, warmup: 1, evalEvery: 0 }) }),
    /^Cannot start a training while another runs in this process \("no run folder"\)/,
  );
  const done = await first;
  assertEquals(done.step, 2);
  done.model.dispose();
  done.optimizer.dispose();
  const again = await train({ config: config({ steps: 1, warmup: 1, evalEvery: 0 }) }); // free again once it ended
  again.model.dispose();
  again.optimizer.dispose();
});
