/**
 * Issue 13, what a new user meets first: a preset's warm-up fits a shorter run, run folders where a checkpoint is
 * asked for, what Ctrl-C and --resume report, both flag forms, --help listing config keys, and eval on short texts.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { cli } from "../reliability/_helpers.ts";

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
    const r = await cli("train", [...SMALL_MODEL, "--steps=10", "--evalEvery=0", "--out", dir], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    assert.ok(/note: warmup 20 → 1 \(the tiny preset's share of a 10-step run; --warmup=N sets it\)/.test(r.stderr));
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
