/**
 * Memory over a run (DESIGN.md: no growth): 200 training steps of the `tiny` NormFormer on each backend, with the
 * backend's live and pooled bytes and the process's RSS sampled after the warm-up step `WARMUP` and at the end.
 * Live bytes (parameters, optimizer state) must not change and the pool must not grow; RSS is the whole
 * process (both backends, the JIT), so a few MiB of drift are the allocator's. No peer: the figures are ours.
 * tests/reliability/memory_test.ts asserts the pool; bench/long_run.ts runs longer with evaluations and
 * checkpoints.
 * @module
 */
import type { Backend } from "../lib/backend/backend.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { openCpu, openWebGpu } from "./backends.ts";
import type { BenchContext, BenchGroup, GroupResult, Row } from "./harness.ts";
import { makeTrainStep } from "./step.ts";

const STEPS = 200, WARMUP = 20;
const MiB = 2 ** 20;
const COLUMNS = ["cpu", "webgpu"];

interface Sample {
  live: number;
  pooled: number;
  rss: number;
}

async function sampleRun(be: Backend, log: (l: string) => void): Promise<[Sample, Sample]> {
  const step = makeTrainStep(be, resolveConfig([{ preset: "tiny", arch: "normformer" }]));
  const sample = (): Sample => {
    const m = be.memory();
    return { live: m.liveBytes / MiB, pooled: m.pooledBytes / MiB, rss: Deno.memoryUsage().rss / MiB };
  };
  let first: Sample | undefined;
  for (let i = 1; i <= STEPS; i++) {
    await step.run();
    if (i === WARMUP) first = sample();
    if (i % 50 === 0) log(`  ${be.name}: step ${i}/${STEPS}`);
  }
  const last = sample();
  step.dispose();
  return [first!, last];
}

/** The memory group: registered in `main.ts`. */
export const memoryGroup: BenchGroup = {
  name: "memory",
  async run(ctx: BenchContext): Promise<GroupResult> {
    const notes: string[] = [];
    const rows: Row[] = ["live MiB", "pooled MiB", "RSS MiB"].flatMap((what) =>
      [`${what} at step ${WARMUP}`, `${what} at step ${STEPS}`].map((label) => ({ label, values: {} as Row["values"] }))
    );
    ctx.log(`memory: ${STEPS} tiny NormFormer steps per backend`);
    for (const [name, open] of [["cpu", openCpu], ["webgpu", openWebGpu]] as const) {
      const be = await open();
      if (typeof be === "string") {
        notes.push(`${name} skipped: ${be}`);
        continue;
      }
      const [a, b] = await sampleRun(be, ctx.log);
      be.destroy();
      const keys = ["live", "pooled", "rss"] as const;
      keys.forEach((k, i) => {
        rows[2 * i].values[name] = a[k];
        rows[2 * i + 1].values[name] = b[k];
      });
      const flat = a.live === b.live && b.pooled <= a.pooled;
      notes.push(
        `${name}: live ${flat ? "constant" : "CHANGED"}, pool ${b.pooled <= a.pooled ? "not growing" : "GREW"}, ` +
          `RSS ${b.rss - a.rss >= 0 ? "+" : ""}${(b.rss - a.rss).toFixed(1)} MiB from step ${WARMUP} to ${STEPS}`,
      );
    }
    return { name: "memory", unit: "MiB", columns: COLUMNS, peer: null, rows, notes };
  },
};
