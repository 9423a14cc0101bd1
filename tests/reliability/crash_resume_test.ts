/**
 * Crash and resume: the training CLI is killed with SIGKILL at seeded random points — during start-up, between
 * steps, and during checkpoint writes (`NK_FAULT_CHECKPOINT_DELAY_MS` widens every point of a save so the kill lands
 * inside it) — then resumed with `--resume`, or started afresh when no checkpoint exists yet, until it finishes.
 * After every kill the checkpoint on disk must load and verify, and never go back in steps; at the end metrics.jsonl
 * (without `time`), the weights and the optimizer state equal an uninterrupted run's exactly.
 * Replay a failure with NK_CRASH_SEED=<seed> (printed on failure).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { FAULT_DELAY_ENV, hasCheckpoint, loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { cli, cliArgs, exists, recordsWithoutTime, seeded, seedFromEnv, TINY_FLAGS } from "./_helpers.ts";

const SEED = seedFromEnv("NK_CRASH_SEED", 20250611);
const STEPS = 40, EVERY = 5, KILLS = 12;
const flags = (out: string) => [
  ...TINY_FLAGS,
  `--steps=${STEPS}`,
  `--checkpointEvery=${EVERY}`,
  "--evalEvery=10",
  "--dropout=0.1",
  "--out",
  out,
  "--name",
  "run",
];

/** When to kill: after a delay, or once `metrics.jsonl` (training began), `checkpoint.tmp` or `.prev` appears. */
type Mode = "timer" | "metrics" | "tmp" | "prev";

/** Start the CLI, kill it as `mode` says; resolves with whether it finished by itself and what the kill hit. */
async function runAndKill(out: string, mode: Mode, wait: number) {
  const run = `${out}/run`;
  const resume = await hasCheckpoint(`${run}/checkpoint`);
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs("train", [...flags(out), ...(resume ? ["--resume"] : [])]),
    env: { NK_BACKEND: "cpu", NO_COLOR: "1", [FAULT_DELAY_ENV]: "40" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  if (mode === "timer") await Promise.race([sleep(wait), status]);
  else {
    const marker = mode === "metrics" ? `${run}/metrics.jsonl` : `${run}/checkpoint.${mode}`;
    while (!exited && !(await exists(marker))) await sleep(2);
    if (!exited) await Promise.race([sleep(wait), status]);
  }
  const hit = {
    tmp: await exists(`${run}/checkpoint.tmp`),
    dir: await exists(`${run}/checkpoint`),
    prev: await exists(`${run}/checkpoint.prev`),
  };
  if (!exited) child.kill("SIGKILL");
  const s = await status;
  return { finished: s.success, killed: s.signal === "SIGKILL", code: s.code, stderr: await stderr, resume, hit };
}

Deno.test("crash and resume: SIGKILL at random points, even mid-checkpoint, loses nothing", async () => {
  const rand = seeded(SEED);
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  const ctx = (msg: string) => `${msg} (replay with NK_CRASH_SEED=${SEED})`;
  const ref = await cli("train", flags(dirA));
  assertEquals(ref.code, 0, ref.stderr);

  let lastStep = 0, duringSave = 0, freshStarts = 0, finished = false;
  const log: string[] = [];
  for (let i = 0; i < KILLS && !finished; i++) {
    // The first kill lands once training began, before the first checkpoint (≥ 200 ms of injected delays away), so
    // the next start is fresh; then the modes rotate.
    const mode: Mode = i === 0 ? "metrics" : (["timer", "tmp", "prev"] as const)[i % 3];
    const wait = mode === "metrics"
      ? 50 * rand()
      : mode === "timer"
      ? 2500 * rand()
      : mode === "tmp"
      ? 250 * rand()
      : 0;
    const r = await runAndKill(dirB, mode, wait);
    log.push(`${i}: ${mode} ${wait.toFixed(0)}ms resume=${r.resume} killed=${r.killed} hit=${JSON.stringify(r.hit)}`);
    if (!r.resume && i > 0) freshStarts++;
    if (r.finished) {
      finished = true;
      break;
    }
    assert.ok(r.killed, ctx(`attempt ${i} exited with ${r.code} instead of being killed: ${r.stderr}`));
    if (r.hit.tmp || r.hit.prev) duringSave++;
    const ckptDir = `${dirB}/run/checkpoint`;
    if (!(await hasCheckpoint(ckptDir))) {
      assertEquals(lastStep, 0, ctx(`the checkpoint of step ${lastStep} vanished after attempt ${i}`));
      continue;
    }
    // What the next --resume will read: it must verify (checksums, config), and never go back in steps.
    const ckpt = await loadCheckpoint(ckptDir);
    const step = ckpt.state.step;
    assert.ok(step % EVERY === 0 && step >= lastStep, ctx(`attempt ${i} left step ${step} after ${lastStep}`));
    const lines = (await Deno.readTextFile(`${dirB}/run/metrics.jsonl`)).split("\n").filter(Boolean).length;
    assert.ok(lines >= ckpt.state.metricsLines, ctx(`metrics.jsonl has ${lines} lines, checkpoint counts more`));
    lastStep = step;
  }
  if (!finished) {
    const resume = (await hasCheckpoint(`${dirB}/run/checkpoint`)) ? ["--resume"] : [];
    const last = await cli("train", [...flags(dirB), ...resume]);
    assertEquals(last.code, 0, ctx(last.stderr));
  }
  console.log(`crash_resume (seed ${SEED}): ${log.join("; ")}`);
  assert.ok(duringSave >= 1, ctx(`no kill landed during a checkpoint write: ${log.join("; ")}`));
  assert.ok(freshStarts >= 1, ctx("no fresh start after a crash before the first checkpoint"));

  const a = `${dirA}/run`, b = `${dirB}/run`;
  assertEquals(
    recordsWithoutTime(await Deno.readTextFile(`${b}/metrics.jsonl`)),
    recordsWithoutTime(await Deno.readTextFile(`${a}/metrics.jsonl`)),
    ctx("metrics differ"),
  );
  for (const f of ["model.safetensors", "optimizer.safetensors"]) {
    assertEquals(await Deno.readFile(`${b}/checkpoint/${f}`), await Deno.readFile(`${a}/checkpoint/${f}`), ctx(f));
  }
  // The runs differ only in their folder (`out`) and wall-clock time.
  const json = async (path: string, skip: string) => {
    const { [skip]: _skipped, ...rest } = JSON.parse(await Deno.readTextFile(path));
    return rest;
  };
  assertEquals(await json(`${b}/checkpoint/state.json`, "time"), await json(`${a}/checkpoint/state.json`, "time"));
  for (const f of ["config.json", "checkpoint/config.json"]) {
    assertEquals(await json(`${b}/${f}`, "out"), await json(`${a}/${f}`, "out"), ctx(f));
  }
  const names = [...Deno.readDirSync(b)].map((e) => e.name).sort();
  assertEquals(names, ["checkpoint", "config.json", "metrics.jsonl"], ctx("leftover files"));
  await Deno.remove(dirA, { recursive: true });
  await Deno.remove(dirB, { recursive: true });
});
