/**
 * Hostile checkpoints, case by case, with a re-signed manifest.sha256 (so only the content is wrong, as a deliberate
 * edit would leave it): missing or extra tensors,
 * shapes or dtypes that disagree with the config, a config.json with wrong types or unknown keys, a state.json with
 * bad fields or a sampler from other data. Resuming (`train`) and loading for eval/sample/grads
 * (`modelFromCheckpoint`) both throw a `CheckpointError` that names the checkpoint, the file and the problem.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { MANIFEST_FILE, signCheckpoint } from "../../lib/train/checkpoint_manifest.ts";
import { sha256Hex } from "../../lib/data/hash.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { CheckpointError } from "../../lib/train/checkpoint.ts";
import { train } from "../../lib/train/loop.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../../lib/train/safetensors.ts";
import { modelFromCheckpoint } from "../../lib/cli/common.ts";
import { rejectsWith, snapshot, TINY_CONFIG } from "./_helpers.ts";

await init({ backend: "cpu" });
const config = resolveConfig([{ ...TINY_CONFIG, steps: 2, evalEvery: 0, checkpointEvery: 2 }]);
const pristine = await Deno.makeTempDir();
{
  const run = await train({ config, runDir: pristine });
  run.model.dispose();
  run.optimizer.dispose();
}
const FC1 = "decoder.layers.0.fc1.weight";

type Tensors = Record<string, SafeTensor>;
type Json = Record<string, any>;

/** A copy of the pristine run with its files edited; tensor edits get a recomputed checksum. */
async function damaged(
  edit: {
    model?: (t: Tensors) => void;
    optimizer?: (t: Tensors) => void;
    config?: (c: Json) => unknown;
    state?: (s: Json) => unknown;
  },
) {
  const dir = await Deno.makeTempDir();
  const ck = `${dir}/checkpoint`;
  await Deno.mkdir(ck);
  for (const f of ["metrics.jsonl", "config.json"]) await Deno.copyFile(`${pristine}/${f}`, `${dir}/${f}`);
  const state = JSON.parse(await Deno.readTextFile(`${pristine}/checkpoint/state.json`));
  for (const part of ["model", "optimizer"] as const) {
    const bytes = await Deno.readFile(`${pristine}/checkpoint/${part}.safetensors`);
    const tensors = decodeSafetensors(bytes).tensors as Tensors;
    const out = edit[part] ? (edit[part]!(tensors), encodeSafetensors(tensors)) : bytes;
    await Deno.writeFile(`${ck}/${part}.safetensors`, out);
  }
  const cfg = JSON.parse(await Deno.readTextFile(`${pristine}/checkpoint/config.json`));
  // An edit mutates in place; an object it returns replaces the file's contents.
  const apply = (f: ((v: Json) => unknown) | undefined, v: Json) => {
    const r = f?.(v);
    return r !== null && typeof r === "object" ? r : v;
  };
  await Deno.writeTextFile(`${ck}/config.json`, JSON.stringify(apply(edit.config, cfg)));
  await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify(apply(edit.state, state)));
  await signCheckpoint(ck);
  return dir;
}

const f32 = (shape: number[]): SafeTensor => ({
  dtype: "F32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

const CASES: [string, Parameters<typeof damaged>[0], RegExp][] = [
  [
    "a missing tensor",
    { model: (t) => delete t[FC1] },
    /model.safetensors: parameter "decoder.layers.0.fc1.weight" .* is missing/,
  ],
  [
    "an extra tensor",
    { model: (t) => (t["decoder.layers.1.fc1.weight"] = f32([64, 32])) },
    /model.safetensors: unexpected tensors "decoder.layers.1.fc1.weight"/,
  ],
  [
    "a transposed weight",
    { model: (t) => (t[FC1] = f32([32, 64])) },
    /model.safetensors: "decoder.layers.0.fc1.weight" has shape .*32.*64.*, expected .*64.*32/,
  ],
  [
    "an int32 weight",
    { model: (t) => (t[FC1] = { dtype: "I32", shape: [64, 32], data: new Int32Array(64 * 32) }) },
    /model.safetensors: "decoder.layers.0.fc1.weight" is not float32/,
  ],
  [
    "a missing moment",
    { optimizer: (t) => delete t[`${FC1}.exp_avg`] },
    /optimizer.safetensors: .*"decoder.layers.0.fc1.weight.exp_avg" is missing/,
  ],
  [
    "a moment of the wrong shape",
    { optimizer: (t) => (t[`${FC1}.exp_avg_sq`] = f32([64])) },
    /optimizer.safetensors: .*exp_avg_sq.*expected/,
  ],
  [
    "a moment of no parameter",
    { optimizer: (t) => (t["nope.exp_avg"] = f32([1])) },
    /optimizer.safetensors: "nope.exp_avg": no parameter has that name/,
  ],
  [
    "config.json dModel true",
    { config: (c) => (c.dModel = true) },
    /config.json: Invalid dModel true: expected a number/,
  ],
  ["config.json arch 3", { config: (c) => (c.arch = 3) }, /config.json: Invalid arch 3/],
  ['config.json layers "two"', { config: (c) => (c.layers = "two") }, /config.json: Invalid layers "two"/],
  [
    "config.json unknown key",
    { config: (c) => (c.dmodel = 32) },
    /config.json: Unknown config key "dmodel": did you mean "dModel"\?/,
  ],
  ["config.json an array", { config: () => [1] }, /config.json is not a JSON object/],
  ["config.json heads not dividing dModel", { config: (c) => (c.heads = 5) }, /config.json: .*heads 5/],
  [
    "config.json disagreeing with the tensors",
    { config: (c) => (c.layers = 2) },
    /has layers 2, the config 1|model.safetensors: parameter "decoder.layers.1.* is missing/,
  ],
  ["state.json step -1", { state: (s) => (s.step = -1) }, /state.json step is -1, expected an integer ≥ 0/],
  ['state.json step "2"', { state: (s) => (s.step = "2") }, /state.json step is "2"/],
  ["state.json format 1", { state: (s) => (s.format = 1) }, /state.json format is 1, expected 2/],
  [
    "state.json rng of three words",
    { state: (s) => void (s.rng = [1, 2, 3]) },
    /state.json rng is \[1,2,3\], expected four u32 words/,
  ],
  [
    "state.json skippedSteps > step",
    { state: (s) => (s.skippedSteps = 9) },
    /state.json skippedSteps 9 exceeds step 2/,
  ],
  [
    "state.json with format 1's sha256 field",
    { state: (s) => void (s.sha256 = { model: "0".repeat(64), optimizer: "0".repeat(64) }) },
    /state.json has an unknown field "sha256"/,
  ],
];

for (const [what, edit, pattern] of CASES) {
  Deno.test(`checkpoint with ${what}: resume and load fail with a CheckpointError naming the file`, async () => {
    const dir = await damaged(edit);
    const before = await snapshot(dir);
    const named = new RegExp(`^Cannot (load checkpoint|resume from) "${dir}/checkpoint"`);
    const resume = await rejectsWith(() => train({ config, runDir: dir, resume: true }), CheckpointError, pattern);
    assertEquals(named.test(resume.message), true, resume.message);
    // eval/sample/grads read the weights only; a config that disagrees with them fails there as on resume.
    if (!edit.optimizer) {
      const load = await rejectsWith(() => modelFromCheckpoint(`${dir}/checkpoint`), CheckpointError, pattern);
      assertEquals(named.test(load.message), true, load.message);
    }
    assertEquals(await snapshot(dir), before, "a refused checkpoint changes nothing");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("checkpoint whose sampler state is from other data: resume fails naming state.json", async () => {
  const dir = await damaged({ state: (s) => (s.sampler.tokens += 1) });
  await rejectsWith(
    () => train({ config, runDir: dir, resume: true }),
    CheckpointError,
    /^Cannot resume from ".*": state.json sampler: Sampler state was saved for \d+ tokens/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint counting more metrics lines than metrics.jsonl has: resume fails", async () => {
  const dir = await damaged({ state: (s) => (s.metricsLines += 5) });
  await rejectsWith(
    () => train({ config, runDir: dir, resume: true }),
    CheckpointError,
    /^Cannot resume metrics: .* has \d+ lines/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** A copy of the pristine run whose manifest `edit` rewrites (as text), without re-signing anything. */
async function withManifest(edit: (text: string) => string | null) {
  const dir = await damaged({});
  const path = `${dir}/checkpoint/${MANIFEST_FILE}`;
  const text = edit(await Deno.readTextFile(path));
  if (text === null) await Deno.remove(path);
  else await Deno.writeTextFile(path, text);
  return dir;
}

const MANIFEST_CASES: [string, (text: string) => string | null, RegExp][] = [
  ["missing (format 1)", () => null, /manifest.sha256 is missing \(a checkpoint of format 1/],
  ["empty", () => "", /manifest.sha256 does not end with its own digest line/],
  [
    "with a flipped digit",
    (t) => t.replace(/^([0-9a-f])/m, (d) => (d === "0" ? "1" : "0")),
    /manifest.sha256 is corrupted or was changed \(its lines hash to/,
  ],
  ["cut short", (t) => t.slice(0, t.length - 10), /manifest.sha256 does not end with its own digest line/],
];

for (const [what, edit, pattern] of MANIFEST_CASES) {
  Deno.test(`checkpoint with a manifest ${what}: resume and load fail naming manifest.sha256`, async () => {
    const dir = await withManifest(edit);
    const before = await snapshot(dir);
    await rejectsWith(() => train({ config, runDir: dir, resume: true }), CheckpointError, pattern);
    await rejectsWith(() => modelFromCheckpoint(`${dir}/checkpoint`), CheckpointError, pattern);
    assertEquals(await snapshot(dir), before, "a refused checkpoint changes nothing");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("checkpoint with a manifest re-signed but not listing config.json: refused", async () => {
  const dir = await damaged({});
  const path = `${dir}/checkpoint/${MANIFEST_FILE}`;
  const text = await Deno.readTextFile(path);
  // Drop the config.json line and sign the rest as encodeManifest does.
  const lines = text.split("\n").filter((l) => !l.endsWith("  config.json") && !l.startsWith("# SHA-256 of"));
  const body = lines.filter(Boolean).join("\n") + "\n";
  await Deno.writeTextFile(path, `${body}# SHA-256 of the lines above: ${await sha256Hex(body)}\n`);
  await rejectsWith(() => modelFromCheckpoint(`${dir}/checkpoint`), CheckpointError, /does not list config.json/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint edited by hand without re-signing (step 2 → 3): refused naming state.json", async () => {
  const dir = await damaged({});
  const path = `${dir}/checkpoint/state.json`;
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes('"step":2'), text);
  await Deno.writeTextFile(path, text.replace('"step":2', '"step":3'));
  const pattern = /^Cannot load checkpoint ".*": state.json is corrupted or was changed \(SHA-256 [0-9a-f]{12}…/;
  await rejectsWith(() => train({ config, runDir: dir, resume: true }), CheckpointError, pattern);
  await rejectsWith(() => modelFromCheckpoint(`${dir}/checkpoint`), CheckpointError, pattern);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the pristine checkpoint used above loads (control)", async () => {
  const dir = await damaged({});
  const { step } = await modelFromCheckpoint(`${dir}/checkpoint`);
  assertEquals(step, 2);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(pristine, { recursive: true });
});
