/**
 * Bad input everywhere: every CLI command given an unwritable output folder, unknown flags, wrong types,
 * out-of-range values, a corpus too small for its context, a bad config file, or a missing, corrupted or foreign
 * checkpoint ends with exactly one line starting `error:`, exit code 2, nothing on stdout — and nothing written or
 * overwritten (every path's size and mtime under the working folder is unchanged).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { cli, snapshot, TINY_FLAGS } from "./_helpers.ts";
import { acquireRunLock, type RunLock } from "../../lib/train/run_lock.ts";

const root = await Deno.makeTempDir();
const busy: RunLock[] = [];
{
  const r = await cli("train", [...TINY_FLAGS, "--steps=2", "--evalEvery=0", "--out", root, "--name", "good"]);
  if (r.code !== 0) throw new Error(`setup run failed: ${r.stderr}`);
  await Deno.mkdir(`${root}/corrupt/checkpoint`, { recursive: true });
  for (const f of ["metrics.jsonl", "config.json"]) await Deno.copyFile(`${root}/good/${f}`, `${root}/corrupt/${f}`);
  for (const e of Deno.readDirSync(`${root}/good/checkpoint`)) {
    await Deno.copyFile(`${root}/good/checkpoint/${e.name}`, `${root}/corrupt/checkpoint/${e.name}`);
  }
  const model = await Deno.readFile(`${root}/corrupt/checkpoint/model.safetensors`);
  model[model.length - 3] ^= 0x40;
  await Deno.writeFile(`${root}/corrupt/checkpoint/model.safetensors`, model);
  // Copies of the good run: "edited" with state.json's step changed by hand, "edited-config" with config.json's lr,
  // "busy" held by this process's lock for the whole test.
  for (const name of ["edited", "edited-config", "busy"]) {
    await Deno.mkdir(`${root}/${name}/checkpoint`, { recursive: true });
    for (const f of ["metrics.jsonl", "config.json"]) await Deno.copyFile(`${root}/good/${f}`, `${root}/${name}/${f}`);
    for (const e of Deno.readDirSync(`${root}/good/checkpoint`)) {
      await Deno.copyFile(`${root}/good/checkpoint/${e.name}`, `${root}/${name}/checkpoint/${e.name}`);
    }
  }
  const state = `${root}/edited/checkpoint/state.json`;
  await Deno.writeTextFile(state, (await Deno.readTextFile(state)).replace('"step": 2', '"step": 3'));
  const cfg = `${root}/edited-config/checkpoint/config.json`;
  await Deno.writeTextFile(cfg, (await Deno.readTextFile(cfg)).replace('"lr": 0.001', '"lr": 0.003'));
  busy.push(await acquireRunLock(`${root}/busy`), await acquireRunLock(`${root}/busy-fresh`));
  await Deno.writeTextFile(`${root}/afile`, "a regular file\n");
  await Deno.writeTextFile(`${root}/tiny.txt`, "just a few words\n");
  await Deno.writeTextFile(`${root}/bad.json`, "{ steps: 3 ");
  await Deno.writeTextFile(`${root}/array.json`, "[1, 2]");
  await Deno.writeTextFile(`${root}/unknown.json`, '{ "dmodel": 32 }');
  await Deno.writeFile(`${root}/binary.dat`, new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28]));
}
const OUT = ["--out", `${root}/runs`];
const GOOD = `${root}/good/checkpoint`, CORRUPT = `${root}/corrupt/checkpoint`, EDITED = `${root}/edited/checkpoint`;

/** [command, args, what stderr's error line must say]. Train cases get TINY_FLAGS first. */
const CASES: [string, string[], RegExp][] = [
  // Unwritable output folders (as root, chmod does not stop writes: a path under a regular file does).
  ["train", ["--out", `${root}/afile/runs`], /Cannot write to run folder ".*afile\/runs\/.*": Not a directory/],
  ["train", ["--out", "/proc/nk-no-such/runs"], /Cannot write to run folder "\/proc\/nk-no-such\/runs\//],
  // Unknown flags and stray arguments.
  ["train", [...OUT, "--stepz=3"], /Unknown config key "stepz": did you mean "steps"\?/],
  ["train", [...OUT, "--resum"], /did you mean "--resume"/],
  ["train", [...OUT, "-x"], /Unknown flag "-x"/],
  ["train", [...OUT, "extra"], /Unexpected argument "extra"/],
  ["train", [...OUT, "--help=yes"], /Flag --help takes no value/],
  // Wrong types.
  ["train", [...OUT, "--lr=fast"], /Invalid lr "fast": expected a finite number > 0/],
  ["train", [...OUT, "--steps=2.5"], /Invalid steps "2.5": expected an integer ≥ 1/],
  ["train", [...OUT, "--steps"], /Invalid steps true: expected an integer ≥ 1/],
  ["train", [...OUT, "--gradStats=maybe"], /Invalid gradStats "maybe": expected true or false/],
  ["train", [...OUT, "--name=../escape"], /Invalid name "..\/escape"/],
  ["train", [...OUT, "--backend=tpu"], /Invalid backend "tpu"/],
  ["train", [...OUT, "--arch=transformer"], /arch/],
  // Out-of-range values.
  ["train", [...OUT, "--steps=0"], /Invalid steps "0"/],
  ["train", [...OUT, "--batchSize=-4"], /Invalid batchSize "-4"/],
  ["train", [...OUT, "--lr=Infinity"], /Invalid lr "Infinity"/],
  ["train", [...OUT, "--lr=NaN"], /Invalid lr "NaN"/],
  ["train", [...OUT, "--beta2=1"], /Invalid beta2 "1": expected 0 ≤ beta2 < 1/],
  ["train", [...OUT, "--dropout=1.5"], /dropout/],
  ["train", [...OUT, "--seed=-1"], /Invalid seed "-1"/],
  // Data that cannot feed the config.
  ["train", [...OUT, `--corpus=${root}/tiny.txt`], /Cannot use corpus ".*tiny.txt": .*too few for context length 32/],
  ["train", [...OUT, `--corpus=${root}/missing.txt`], /Cannot use corpus ".*missing.txt"/],
  [
    "train",
    [...OUT, "--contextLength=2000", "--evalTokens=4000"],
    /Validation data has \d+ tokens, too few for context length 2000/,
  ],
  ["train", [...OUT, "--evalTokens=1"], /Invalid evalTokens 1: expected at least contextLength \(32\)/],
  ["train", [...OUT, "--contextLength=100000"], /Invalid evalTokens 512: expected at least contextLength \(100000\)/],
  // More memory than there is: refused before anything is read or written, naming the keys to change.
  [
    "train",
    [...OUT, "--contextLength", "100000", "--evalTokens", "100000"],
    /Run needs about [\d.]+ [GT]iB \(parameters .*, optimizer .*, activations .*, eval .*\), [\d.]+ [GMT]iB available: .*contextLength/,
  ],
  // Config files.
  ["train", [...OUT, "--config", `${root}/missing.json`], /Cannot read config file ".*missing.json"/],
  ["train", [...OUT, "--config", `${root}/bad.json`], /Cannot parse config file ".*bad.json"/],
  [
    "train",
    [...OUT, "--config", `${root}/array.json`],
    /Cannot parse config file ".*array.json": expected a JSON object/,
  ],
  ["train", [...OUT, "--config", `${root}/unknown.json`], /Unknown config key "dmodel": did you mean "dModel"\?/],
  // Checkpoints: none, one already there, a corrupted one, one of another model.
  ["train", [...OUT, "--resume"], /Cannot resume ".*": it has no checkpoint/],
  ["train", ["--out", root, "--name", "good", "--steps=4"], /already has a checkpoint: pass --resume/],
  ["train", ["--out", root, "--name", "corrupt", "--steps=4", "--resume"], /model.safetensors is corrupted/],
  [
    "train",
    ["--out", root, "--name", "good", "--steps=4", "--resume", "--arch=preln"],
    /Cannot change arch when resuming \(run was trained with "normformer", asked for "preln"\)/,
  ],
  [
    "train",
    ["--out", root, "--name", "good", "--resume", "--lr=3e-4"],
    /Cannot change lr when resuming \(run was trained with 0.001, asked for 0.0003\): only steps, /,
  ],
  ["train", ["--out", root, "--name", "good", "--resume", "--seed=2"], /Cannot change seed when resuming/],
  ["train", ["--out", root, "--name", "edited", "--resume"], /edited\/checkpoint": state.json is corrupted or was/],
  ["eval", ["--checkpoint", EDITED], /Cannot load checkpoint ".*edited\/checkpoint": state.json is corrupted or/],
  ["eval", ["--checkpoint", `${root}/edited-config/checkpoint`], /config.json is corrupted or was changed/],
  // A run folder another writer holds (this test process holds busy/run.lock).
  ["train", ["--out", root, "--name", "busy", "--resume", "--steps=4"], /Run folder ".*busy" is in use by pid \d+ on /],
  ["train", ["--out", root, "--name", "busy-fresh"], /Run folder ".*busy-fresh" is in use by pid \d+ on .*run.lock/],
  // eval / sample / grads.
  ["eval", [], /Missing --checkpoint DIR/],
  ["eval", ["--checkpoint", `${root}/nope`], /Checkpoint ".*nope" does not exist: give a run folder/],
  ["eval", ["--checkpoint", `${root}/runs`], /Checkpoint ".*runs" does not exist/],
  ["eval", ["--checkpoint", root], /Cannot load checkpoint ".*": no state.json there, nor a checkpoint\/ folder/],
  ["eval", ["--checkpoint", CORRUPT], /Cannot load checkpoint ".*corrupt\/checkpoint": model.safetensors is corrupted/],
  ["eval", ["--checkpoint", `${root}/afile`], /Checkpoint ".*afile" is a file: give a run folder/],
  ["eval", ["--checkpoint", GOOD, "--split=train"], /Invalid --split "train": expected valid or test/],
  ["eval", ["--checkpoint", GOOD, "--split=valid", "--text", `${root}/tiny.txt`], /Give either --split or --text/],
  ["eval", ["--checkpoint", GOOD, "--text", `${root}/missing.txt`], /Cannot read ".*missing.txt" as UTF-8 text/],
  ["eval", ["--checkpoint", GOOD, "--text", `${root}/binary.dat`], /Cannot read ".*binary.dat" as UTF-8 text/],
  ["eval", ["--checkpoint", GOOD, "--backend=tpu"], /Invalid --backend "tpu"/],
  ["eval", ["--checkpiont", GOOD], /Unknown flag "--checkpiont": did you mean "--checkpoint"\?/],
  ["sample", ["--checkpoint", GOOD, "--tokens=-1"], /Invalid --tokens "-1": expected an integer ≥ 1/],
  ["sample", ["--checkpoint", GOOD, "--tokens", "-1"], /Invalid --tokens "-1": expected an integer ≥ 1/],
  ["sample", ["--checkpoint", GOOD, "--tokens"], /Flag --tokens expects a value \(--tokens <n>\)$/],
  ["train", [...OUT, "--steps", "0"], /Invalid steps "0"/],
  ["train", [...OUT, "--lr", "-1"], /Invalid lr "-1": expected a finite number > 0/],
  ["sample", ["--checkpoint", GOOD, "--tokens=0"], /Invalid --tokens "0"/],
  ["sample", ["--checkpoint", GOOD, "--tokens=2.5"], /Invalid --tokens "2.5"/],
  ["eval", ["--checkpoint", GOOD, "--text", `${root}/tiny.txt`], /tiny.txt" has 17 tokens: expected at least 33 \(one/],
  ["sample", ["--checkpoint", GOOD, "--temperature=-1"], /Invalid --temperature "-1": expected a number ≥ 0/],
  ["sample", ["--checkpoint", GOOD, "--temperature=NaN"], /Invalid --temperature "NaN"/],
  ["sample", ["--checkpoint", GOOD, "--seed=x"], /Invalid --seed "x"/],
  ["sample", ["--checkpoint", CORRUPT, "--prompt", "a"], /model.safetensors is corrupted/],
  ["sample", ["--checkpoint", `${root}/nope`], /Checkpoint ".*nope" does not exist/],
  ["grads", [], /Missing --checkpoint DIR/],
  ["grads", ["--checkpoint", CORRUPT], /model.safetensors is corrupted/],
  ["grads", ["--checkpoint", `${root}/nope`], /Checkpoint ".*nope" does not exist/],
  [
    "grads",
    ["--checkpoint", `${root}/corrupt`],
    /Cannot load checkpoint ".*corrupt\/checkpoint": model.safetensors is/,
  ],
  ["grads", ["--checkpoint", GOOD, "--backend=tpu"], /Invalid --backend "tpu"/],
  ["grads", ["--checkpoint", GOOD, "--json=1"], /Flag --json takes no value/],
];

let remaining = CASES.length;
for (const [command, args, pattern] of CASES) {
  const argv = command === "train" ? [...TINY_FLAGS, ...args] : args;
  Deno.test(`cli ${command} ${args.join(" ").replaceAll(root, "<tmp>")}: one error line, exit 2, nothing written`, async () => {
    try {
      const before = await snapshot(root);
      const r = await cli(command, argv, { cwd: root });
      assertEquals(r.code, 2, r.stderr);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assertEquals(errors.length, 1, r.stderr);
      assert.ok(pattern.test(errors[0]), `expected ${pattern}, got: ${errors[0]}`);
      assertEquals(r.stdout, "");
      assertEquals(await snapshot(root), before, "the command wrote or changed something");
    } finally {
      if (--remaining === 0) {
        for (const lock of busy) await lock.release();
        await Deno.remove(root, { recursive: true });
      }
    }
  });
}
