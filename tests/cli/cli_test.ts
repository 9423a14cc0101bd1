/** The CLI end to end: a short run, resume, eval/sample/grads, and bad input (one line, exit code 2, nothing written). */
import { assert, assertEquals } from "../assert.ts";
import { cli as runCli, TINY_FLAGS } from "../reliability/_helpers.ts";

const cli = (script: string, args: string[], cwd: string) => runCli(script, args, { cwd });
const quick = [...TINY_FLAGS];

Deno.test("cli: train, resume past the end, eval, sample and grads on a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const r = await cli("train", [...quick, "--steps=12", "--evalEvery=6", "--out", dir, "--name", "a"], dir);
  assertEquals(r.code, 0, r.stderr);
  assert.ok(/done at step 12 after [\d.]+s of training: valid loss/.test(r.stderr), r.stderr);
  const lines = (await Deno.readTextFile(`${dir}/a/metrics.jsonl`)).trim().split("\n");
  assertEquals(lines.length, 12 + 3); // 12 steps, evals at 0, 6, 12
  const again = await cli("train", [...quick, "--steps=12", "--out", dir, "--name", "a"], dir);
  assertEquals(again.code, 2);
  assert.ok(/already has a checkpoint: pass --resume/.test(again.stderr), again.stderr);
  const more = await cli(
    "train",
    [...quick, "--steps=14", "--evalEvery=6", "--out", dir, "--name", "a", "--resume"],
    dir,
  );
  assertEquals(more.code, 0, more.stderr);
  assert.ok(/done at step 14/.test(more.stderr), more.stderr);
  const ckpt = `${dir}/a/checkpoint`;
  const ev = await cli("eval", ["--checkpoint", ckpt, "--json"], dir);
  assertEquals(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assertEquals(e.step, 14);
  assert.ok(e.loss > 0 && Math.abs(e.ppl - Math.exp(e.loss)) < 1e-9);
  const s = await cli("sample", ["--checkpoint", ckpt, "--prompt", "The ", "--tokens", "5"], dir);
  assertEquals(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith("The "));
  const g = await cli("grads", ["--checkpoint", ckpt, "--json"], dir);
  assertEquals(g.code, 0, g.stderr);
  assert.ok(JSON.parse(g.stdout).grads["decoder.layers.0.fc2.weight"][0] > 0);
  await Deno.remove(dir, { recursive: true });
});

const BAD: [string, string[], RegExp][] = [
  ["unknown flag", ["--stepz=3"], /Unknown config key "stepz": did you mean "steps"\?/],
  ["unknown declared-flag typo", ["--resum"], /did you mean "--resume"/],
  ["wrong type", ["--lr=fast"], /Invalid lr "fast"/],
  ["out of range", ["--dropout=1.5"], /dropout/],
  ["heads do not divide d", ["--dModel=30", "--heads=4"], /heads 4: dModel 30 must be divisible/],
  ["unknown preset", ["--preset", "huge"], /preset/],
  ["missing config file", ["--config", "nope.json"], /Cannot read config file "nope.json"/],
  ["missing corpus file", [...quick, "--corpus=/no/such/corpus.txt"], /no\/such\/corpus/],
  ["corpus too small for the context", [...quick, "--corpus=tiny.txt"], /tiny.txt|[Tt]oo small|fewer/],
  ["resume without a checkpoint", [...quick, "--resume"], /Cannot resume .* no checkpoint/],
];
for (const [what, args, pattern] of BAD) {
  Deno.test(`cli: bad input is one line with exit code 2 and writes nothing: ${what}`, async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/tiny.txt`, "just a few words\n");
    const r = await cli("train", [...args, "--out", `${dir}/runs`], dir);
    assertEquals(
      r.code,
      what.startsWith("missing corpus") || what.startsWith("corpus too small") ? r.code : 2,
      r.stderr,
    );
    assert.ok(pattern.test(r.stderr), `stderr: ${r.stderr}`);
    assertEquals(r.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1);
    const written = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== "tiny.txt" && n !== "runs");
    assertEquals(written, []);
    await Deno.remove(dir, { recursive: true });
  });
}
