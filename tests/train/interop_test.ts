/**
 * fairseq interop: the PyTorch-written fairseq-style checkpoint (tests/fixtures/make_fixtures.py) loads and gives the
 * reference loss; our export restores fairseq's extra entries exactly; bad inputs fail with one clear message.
 */
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";

await nk.init({ backend: "cpu", seed: 3 });
const FIXTURE = new URL("../fixtures/fairseq_normformer.safetensors", import.meta.url).pathname;
const file = await nk.readSafetensors(FIXTURE);
const batch = (key: string) => nk.tensor(JSON.parse(file.metadata[key]), { dtype: "i32" });

async function fixtureLoss(model: nk.NormFormerLM): Promise<number> {
  return await nk.tidyAsync(() => model.loss(batch("expected.inputs"), batch("expected.targets")).item());
}

Deno.test("loadFairseqCheckpoint reads the PyTorch fairseq checkpoint and gives its loss", async () => {
  assertEquals(file.metadata.kind, "fairseq");
  const { config, stateDict } = await nk.loadFairseqCheckpoint(FIXTURE);
  assertEquals([config.arch, config.residScale, config.headScalePlacement], ["normformer", true, "postOutProj"]);
  const model = new nk.NormFormerLM(config);
  model.loadStateDict(stateDict);
  assertClose([await fixtureLoss(model)], [Number(file.metadata["expected.loss"])], 1e-5, 0, "loss");
  model.dispose();
});

Deno.test("exportFairseqStateDict reproduces the fairseq state dict exactly, extra entries included", async () => {
  const { config, stateDict } = await nk.loadFairseqCheckpoint(FIXTURE);
  const model = new nk.NormFormerLM(config);
  model.loadStateDict(stateDict);
  const ours = await nk.exportFairseqStateDict(model);
  assertEquals(Object.keys(ours).sort(), Object.keys(file.tensors).sort());
  for (const key of nk.FAIRSEQ_EXTRA_KEYS) assert(key in ours, key);
  for (const [name, t] of Object.entries(file.tensors)) {
    assertEquals(ours[name].shape, t.shape, name);
    assertEquals(ours[name].data, t.data, name);
  }
  assertEquals(nk.fairseqModelArgs(model.cfg), {
    ...JSON.parse(file.metadata[nk.FAIRSEQ_ARGS_KEY]),
    tokens_per_sample: config.contextLength,
  });
  model.dispose();
});

Deno.test("saveFairseqCheckpoint round-trips weights, config and extra metadata", async () => {
  const model = new nk.NormFormerLM({ vocabSize: 37, dModel: 16, heads: 2, dFF: 24, layers: 1, contextLength: 8 });
  const dir = await Deno.makeTempDir();
  try {
    await nk.saveFairseqCheckpoint(`${dir}/m.safetensors`, model, { note: "cfg" }, { "check.loss": "1.5" });
    const back = await nk.loadFairseqCheckpoint(`${dir}/m.safetensors`);
    assertEquals(back.config, model.cfg);
    assertEquals(back.metadata.config, '{"note":"cfg"}');
    assertEquals([back.metadata.format, back.metadata["check.loss"]], ["pt", "1.5"]);
    const copy = new nk.NormFormerLM(back.config);
    copy.loadStateDict(back.stateDict);
    assertEquals(await fixtureLoss(copy), await fixtureLoss(model));
    copy.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.dispose();
  }
});

Deno.test("learned positions gain fairseq's 2 leading zero rows on export and lose them on import", async () => {
  const model = new nk.NormFormerLM({
    vocabSize: 8,
    dModel: 4,
    heads: 1,
    dFF: 8,
    layers: 1,
    contextLength: 5,
    positions: "learned",
  });
  const ours = await nk.exportFairseqStateDict(model);
  const pos = ours["decoder.embed_positions.weight"];
  assertEquals(pos.shape, [7, 4]);
  assertEquals(Array.from(pos.data.subarray(0, 8)), new Array(8).fill(0));
  assert(!("decoder.embed_positions._float_tensor" in ours));
  const back = nk.importFairseqStateDict(ours);
  assertEquals(back["decoder.embed_positions.weight"].shape, [5, 4]);
  assertEquals(back["decoder.embed_positions.weight"].data, await model.embedPositions!.toArray());
  model.dispose();
});

Deno.test("importFairseqStateDict rejects untied, old-version and unsupported fairseq state dicts", () => {
  const t = file.tensors;
  const untied = structuredClone(t["decoder.output_projection.weight"]);
  untied.data[5] += 0.25;
  assertThrows(
    () => nk.importFairseqStateDict({ ...t, "decoder.output_projection.weight": untied }),
    /^Cannot import fairseq weights: decoder\.output_projection\.weight differs from decoder\.embed_tokens\.weight \(\|difference\| 0\.250 at element 5\); this model ties them/,
  );
  const oldVersion = { dtype: "F32" as const, shape: [1], data: new Float32Array([1]) };
  assertThrows(
    () => nk.importFairseqStateDict({ ...t, "decoder.version": oldVersion }),
    /decoder\.version is \[1\], expected \[3\]/,
  );
  const lnEmb = { dtype: "F32" as const, shape: [16], data: new Float32Array(16) };
  assertThrows(
    () => nk.importFairseqStateDict({ ...t, "decoder.layernorm_embedding.weight": lnEmb }),
    /"decoder\.layernorm_embedding\.weight" comes from fairseq's --layernorm-embedding, which this model does not have/,
  );
  const { ["decoder.embed_tokens.weight"]: _, ...noEmbed } = t;
  assertThrows(
    () => nk.importFairseqStateDict(noEmbed),
    /output_projection\.weight is present but .*embed_tokens.* is missing/,
  );
});

Deno.test("fairseq config translation names what fairseq or this model cannot express", async () => {
  const cfg = (extra: Partial<nk.ModelConfig>) => nk.resolveModelConfig({ dModel: 8, heads: 2, ...extra });
  const post = nk.fairseqModelArgs(cfg({ arch: "postln" }));
  assertEquals([post.decoder_normalize_before, post.scale_attn], [false, false]);
  assertEquals(nk.modelConfigFromFairseq(post, 256), cfg({ arch: "postln" }));
  // a Post-LN fairseq config may say no_decoder_final_norm (it has no final LayerNorm either way); Pre-LN may not
  assertEquals(nk.modelConfigFromFairseq({ ...post, no_decoder_final_norm: true }, 256).arch, "postln");
  assertThrows(
    () => nk.modelConfigFromFairseq({ ...post, decoder_normalize_before: true, no_decoder_final_norm: true }, 256),
    /no_decoder_final_norm is true \(Pre-LN without the final LayerNorm\)/,
  );
  // without the key, fairseq 0.12's transformer_lm is Post-LN and its named archs run base_lm_architecture (Pre-LN)
  const { decoder_normalize_before: _, ...unsaid } = nk.fairseqModelArgs(cfg({ arch: "preln" }));
  assertEquals(nk.modelConfigFromFairseq({ ...unsaid, _name: "transformer_lm" }, 256).arch, "postln");
  assertEquals(nk.modelConfigFromFairseq({ ...unsaid, _name: "transformer_lm_gpt" }, 256).arch, "preln");
  assertThrows(
    () => nk.fairseqModelArgs(cfg({ headScalePlacement: "preOutProj" })),
    /headScalePlacement "preOutProj" in fairseq: --scale-heads multiplies the heads after out_proj/,
  );
  const args = nk.fairseqModelArgs(cfg({ arch: "preln", activation: "reluSquared" }));
  assertEquals(nk.modelConfigFromFairseq(args, 256), cfg({ arch: "preln", activation: "reluSquared" }));
  assertThrows(() => nk.modelConfigFromFairseq({ ...args, activation_fn: "relu" }, 256), /activation_fn is "relu"/);
  assertThrows(
    () => nk.modelConfigFromFairseq({ ...args, share_decoder_input_output_embed: false }, 256),
    /share_decoder_input_output_embed is false, expected true/,
  );
  assertThrows(
    () => nk.modelConfigFromFairseq({ ...args, no_scale_embedding: true }, 256),
    /no_scale_embedding is true \(embeddings not scaled by √C\)/,
  );
  const model = new nk.NormFormerLM(cfg({ headScalePlacement: "preOutProj" }));
  await assertRejects(() => nk.exportFairseqStateDict(model), /preOutProj/);
  model.dispose();
  await assertRejects(
    () => nk.loadFairseqCheckpoint(new URL("../fixtures/ops.safetensors", import.meta.url).pathname),
    /no "fairseq\.model" metadata/,
  );
});

const cli = (name: string) => new URL(`../../lib/cli/${name}.ts`, import.meta.url).pathname;
async function runCli(name: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { NK_CPU_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };
  const p = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", cli(name), ...args], env }).output();
  const dec = new TextDecoder();
  return { code: p.code, out: dec.decode(p.stdout), err: dec.decode(p.stderr) };
}

Deno.test("export-fairseq writes the fairseq project of a run; import-fairseq makes a run folder of it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = { preset: "tiny", corpus: "fixture", dModel: 16, heads: 2, dFF: 32, contextLength: 8, batchSize: 2 };
    const config = nk.resolveConfig([base, { steps: 2, evalEvery: 0, arch: "postln", out: dir, name: "a" }]);
    (await nk.train({ config, runDir: `${dir}/a` })).model.dispose();
    const ok = await runCli("export_fairseq", ["--checkpoint", `${dir}/a`, "--out", `${dir}/fs`]);
    assertEquals(ok.code, 0, ok.err);
    const script = await Deno.readTextFile(`${dir}/fs/train.sh`);
    assertEquals(nk.trainScriptFlags(script), nk.fairseqTrainFlags(config));
    assert(!script.includes("--decoder-normalize-before"), "Post-LN has no --decoder-normalize-before");
    assertEquals((await Deno.readTextFile(`${dir}/fs/dict.txt`)).split("\n").length - 1, 252);
    const valid = (await Deno.readTextFile(`${dir}/fs/data/valid.txt`)).trim().split(" ");
    assert(valid.length > 100 && !valid.includes("<pad>") && !valid.includes("1"));
    const again = await runCli("export_fairseq", ["--checkpoint", `${dir}/a`, "--out", `${dir}/fs`]);
    assertEquals([again.code, again.err.trim()], [2, `error: Cannot export into "${dir}/fs": the folder is not empty`]);

    const imp = await runCli("import_fairseq", ["--from", `${dir}/fs/model.safetensors`, "--name", "b", "--out", dir]);
    assertEquals(imp.code, 0, imp.err);
    const ckpt = await nk.loadCheckpoint(`${dir}/b/checkpoint`);
    const orig = await nk.loadCheckpoint(`${dir}/a/checkpoint`);
    assertEquals([ckpt.state.step, ckpt.config.arch, ckpt.config.dModel], [0, "postln", 16]);
    for (const [name, t] of Object.entries(orig.model)) assertEquals(ckpt.model[name].data, t.data, name);

    const relu = nk.resolveConfig([base, { steps: 1, evalEvery: 0, activation: "reluSquared", out: dir, name: "c" }]);
    (await nk.train({ config: relu, runDir: `${dir}/c` })).model.dispose();
    const bad = await runCli("export_fairseq", ["--checkpoint", `${dir}/c`, "--out", `${dir}/fs2`]);
    assertEquals(bad.code, 2);
    assertEquals(bad.err.trim().split("\n").length, 1);
    assert(bad.err.includes('Cannot express activation "reluSquared"'), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
