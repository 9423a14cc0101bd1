/** Experiment sweeps: a run written at once, --resume skips only identical finished runs, meta.json merges. */
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { explosionStep } from "../../lib/metrics/analysis.ts";
import { acquireRunLock } from "../../lib/train/run_lock.ts";
import { type Experiment, readResults, runExperiment, selectRuns } from "../../lib/train/experiment.ts";

await init({ backend: "cpu" });

const exp = (lr = 3e-3): Experiment => ({
  name: "sweep",
  description: "test",
  base: { preset: "tiny", corpus: "fixture", layers: 1, dModel: 16, heads: 2, dFF: 32, contextLength: 16 },
  sizes: { quick: { batchSize: 2, steps: 3, warmup: 1, evalEvery: 3, evalTokens: 64, lr }, reference: {} },
  runs: [
    { name: "a", config: { seed: 1 } },
    { name: "b", config: { seed: 2 } },
    { name: "c", config: { seed: 3 } },
  ],
});

Deno.test("experiment: --resume skips finished runs with the same config and re-runs changed ones", async () => {
  const dir = await Deno.makeTempDir();
  const first = await runExperiment(exp(), { size: "quick", outDir: dir, only: ["a", "b"] });
  assertEquals(first.ran, ["a", "b"]);
  const skipped: string[] = [];
  const second = await runExperiment(exp(), {
    size: "quick",
    outDir: dir,
    resume: true,
    onSkip: (r) => skipped.push(r),
  });
  assertEquals([second.ran, skipped], [["c"], ["a", "b"]]);
  const { runs, meta } = await readResults(dir);
  assertEquals(Object.keys(runs), ["a", "b", "c"]);
  const entries = meta.runs as Record<string, { seconds: number }>;
  const sum = Object.values(entries).reduce((s, r) => s + r.seconds, 0);
  assert.ok(Math.abs((meta.seconds as number) - sum) < 1e-9, "meta.seconds is the sum of the runs' seconds");
  const changed = await runExperiment(exp(1e-3), { size: "quick", outDir: dir, resume: true });
  assertEquals(changed.ran, ["a", "b", "c"]); // a new lr is a new config
  await Deno.remove(dir, { recursive: true });
});

Deno.test("experiment: two sweeps (two processes) writing one folder at once keep every run in meta.json", async () => {
  const dir = await Deno.makeTempDir();
  const lib = (p: string) => JSON.stringify(new URL(`../../lib/${p}`, import.meta.url).href);
  const code = `await (await import(${lib("core/init.ts")})).init({ backend: "cpu" });
    const { runExperiment } = await import(${lib("train/experiment.ts")});
    const env = (k) => Deno.env.get(k);
    await runExperiment(JSON.parse(env("EXP")), { size: "quick", outDir: env("DIR"), only: env("ONLY").split(",") });`;
  const sweep = (only: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { EXP: JSON.stringify(exp()), DIR: dir, ONLY: only, NK_CPU_THREADS: "1" },
      stderr: "piped",
    }).output();
  const outs = await Promise.all([sweep("a,c"), sweep("b")]);
  for (const o of outs) assert.ok(o.success, new TextDecoder().decode(o.stderr));
  const { meta } = await readResults(dir);
  assertEquals(Object.keys(meta.runs as object), ["a", "b", "c"]); // in the experiment's order
  await assertNoLock(dir);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("experiment: an unknown run name is refused with the choices", () => {
  assertThrows(() => selectRuns(exp(), ["a", "z"]), /^Unknown run "z" in experiment sweep: expected one of a, b, c$/);
  assertEquals(selectRuns(exp(), []).length, 3);
});

async function assertNoLock(dir: string) {
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.ok(!names.includes("meta.lock"), `lock left behind: ${names}`);
}

Deno.test("experiment: stopAtExplosion ends a ramp run at the step explosionStep reports", async () => {
  const dir = await Deno.makeTempDir();
  const ramp: Experiment = {
    ...exp(),
    sizes: {
      quick: { batchSize: 2, steps: 60, schedule: "ramp", warmup: 0, rampK: 0.05, evalEvery: 0 },
      reference: {},
    },
    runs: [{ name: "a", config: { seed: 1 } }],
    stopAtExplosion: { factor: 1.5, after: 5 },
  };
  await runExperiment(ramp, { size: "quick", outDir: dir });
  const { runs, meta } = await readResults(dir);
  const stop = (meta.runs as Record<string, { stop: string }>).a.stop;
  const step = explosionStep(runs.a, 1.5, 5);
  assert.ok(step !== null && step < 60, `no explosion within 60 steps at lr 0.05·step (${stop})`);
  assert.match(stop, new RegExp(`^exploded at step ${step}: loss `));
  assertEquals(runs.a.filter((r) => r.kind === "train").at(-1)!.step, step);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("experiment: one writer per run; the lock folder is gone afterwards", async () => {
  const dir = await Deno.makeTempDir();
  const held = await acquireRunLock(`${dir}/.locks/a`, "another sweep"); // another writer holds run "a"
  await assertRejects(
    () => runExperiment(exp(), { size: "quick", outDir: dir, only: ["a"] }),
    /\.locks\/a" is in use by pid \d+ .*another sweep/,
  );
  await held.release();
  const done = await runExperiment(exp(), { size: "quick", outDir: dir, only: ["a"] });
  assertEquals(done.ran, ["a"]);
  await assertNoLock(dir);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.ok(!names.includes(".locks"), `lock folder left: ${names}`);
  await Deno.remove(dir, { recursive: true });
});
