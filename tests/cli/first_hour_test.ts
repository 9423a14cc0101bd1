/**
 * Issue 13, what a new user meets first: a preset's warm-up fits a shorter run, run folders where a checkpoint is
 * asked for, what Ctrl-C and --resume report, both flag forms, --help listing config keys, and eval on short texts.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { cli, cliArgs } from "../reliability/_helpers.ts";

/** TINY_FLAGS without --warmup, so the preset's warm-up applies. */
const SMALL_MODEL = [
  "--preset",
  "tiny",
  "--corpus=fixture",
  "--layers=1",
  "--dModel=32",
  "--dFF=64",
  "--contextLength=32",
  "--batchSize=4",
  "--evalTokens=512",
];

Deno.test("cli train: a preset's warm-up shrinks to a shorter --steps, and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli("train", [...SMALL_MODEL, "--steps", "10", "--evalEvery", "0", "--out", dir], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    assert.ok(/note: warmup 20 → 1 \(the tiny preset's share of a 10-step run; --warmup=N sets it\)/.test(r.stderr));
    assert.match(
      r.stderr,
      /\nmemory: about \d+ MiB \(parameters \d+ MiB, optimizer \d+ MiB, activations \d+ MiB, eval /,
    );
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/tiny-normformer-s1/config.json`));
    assertEquals([cfg.steps, cfg.warmup], [10, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli eval, sample and grads take the run folder that train prints, or its checkpoint/", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli("train", [...SMALL_MODEL, "--steps=2", "--evalEvery=0", "--out", dir, "--name=a"], {
      cwd: dir,
    });
    assertEquals(r.code, 0, r.stderr);
    for (const path of [`${dir}/a`, `${dir}/a/checkpoint`, `${dir}/a/`]) {
      const ev = await cli("eval", ["--checkpoint", path, "--json"], { cwd: dir });
      assertEquals(ev.code, 0, ev.stderr);
      assertEquals(JSON.parse(ev.stdout).step, 2);
    }
    const s = await cli("sample", ["--checkpoint", `${dir}/a`, "--prompt", "a", "--tokens=3"], { cwd: dir });
    assertEquals(s.code, 0, s.stderr);
    const g = await cli("grads", ["--checkpoint", "a", "--json"], { cwd: dir });
    assertEquals(g.code, 0, g.stderr);
    assertEquals(JSON.parse(g.stdout).checkpoint, "a/checkpoint");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli train: Ctrl-C reports the last real eval and the training time; --resume says where it continues", async () => {
  const dir = await Deno.makeTempDir();
  const flags = [...SMALL_MODEL, "--warmup=2", "--steps=100000", "--evalEvery=5", "--logEvery=1", "--out", dir];
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: cliArgs("train", [...flags, "--name=c"]),
      env: { NK_BACKEND: "cpu", NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "", killed = false;
    const dec = new TextDecoder();
    // Read to the end (cancelling the pipe would break the child's writes): SIGINT once a few steps are past an eval.
    for await (const chunk of child.stderr) {
      stderr += dec.decode(chunk, { stream: true });
      if (!killed && /eval step 5:/.test(stderr) && /step 7\//.test(stderr)) {
        child.kill("SIGINT");
        killed = true;
      }
    }
    const { code } = await child.status;
    assertEquals(code, 130, stderr);
    // "…; last eval at step N: valid loss …", or "…: valid loss …" when the stop fell on an evaluation step.
    const m = stderr.match(
      /stopped at step (\d+) after ([\d.]+)s of training(?:; last eval at step (\d+))?: valid loss/,
    );
    assert.ok(m, stderr);
    const [step, seconds] = [Number(m[1]), Number(m[2])];
    const evalStep = m[3] === undefined ? step : Number(m[3]);
    assert.ok(step >= 7 && evalStep >= 5 && evalStep <= step && evalStep % 5 === 0, stderr);
    assert.ok(seconds > 0, stderr);
    assert.match(stderr, /the same command plus --resume continues it/);
    const again = await cli("train", [...flags, "--name=c", "--resume", `--steps=${step + 1}`], { cwd: dir });
    assertEquals(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(`resuming from step ${step} of ${step + 1} \\(${(step * 128).toLocaleString("en")} tokens, `),
    );
    assert.match(again.stderr, new RegExp(`done at step ${step + 1} after`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli sample streams, --temperature 0 is greedy; eval --text says how many tokens it left out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli("train", [...SMALL_MODEL, "--steps=3", "--evalEvery=0", "--out", dir, "--name=a"], {
      cwd: dir,
    });
    assertEquals(r.code, 0, r.stderr);
    const greedy = (seed: string) =>
      cli("sample", ["--checkpoint", "a", "--prompt", "The ", "--tokens=20", "--temperature=0", `--seed=${seed}`], {
        cwd: dir,
      });
    const [a, b] = [await greedy("1"), await greedy("2")];
    assertEquals(a.code, 0, a.stderr);
    assert.ok(a.stdout.startsWith("The ") && a.stdout.endsWith("\n"), a.stdout);
    assertEquals(a.stdout, b.stdout); // no draw, so the seed does not matter
    // 100 bytes + 1: three blocks of 32 scored, the last 4 targets left out and reported.
    await Deno.writeTextFile(`${dir}/t.txt`, "x".repeat(101));
    const ev = await cli("eval", ["--checkpoint", "a", "--text", "t.txt"], { cwd: dir });
    assertEquals(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /over 96 tokens \(the last 4, less than one block of 32, are not scored\)/);
    assert.match(ev.stderr, /eval t.txt: 1\/1 batches 100%/);
    const json = await cli("eval", ["--checkpoint", "a", "--text", "t.txt", "--json"], { cwd: dir });
    assertEquals([JSON.parse(json.stdout).tokens, JSON.parse(json.stdout).leftOut], [96, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli --help: train lists every config key with what it accepts and the preset's value; data has --help", async () => {
  const r = await cli("train", ["--preset", "small", "--help"]);
  assertEquals(r.code, 0, r.stderr);
  assert.match(r.stdout, /Config keys \(the values of preset small; --preset NAME --help shows another\):/);
  assert.match(r.stdout, /\n {2}steps +integer ≥ 1 +2000\n/);
  assert.match(r.stdout, /\n {2}dropout +0 ≤ p < 1 +0\n/);
  assert.match(r.stdout, /\n {2}schedule +"linear", "cosine", "constant", "ramp" +"linear"\n/);
  for (const key of ["lr", "warmup", "dModel", "arch", "evalTokens", "initScales"]) {
    assert.match(r.stdout, new RegExp(`\\n  ${key} `), key);
  }
  const d = await cli("data", ["--help"]);
  assertEquals(d.code, 0, d.stderr);
  assert.match(d.stdout, /--tokenizers <list>/);
  const bad = await cli("data", ["--hepl"]);
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr.trim(), 'error: Unknown flag "--hepl": did you mean "--help"?');
});
