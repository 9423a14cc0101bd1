/**
 * Against fairseq 0.12.2's own code: each `fairseq_real_<variant>.safetensors` was made by
 * `tests/fixtures/make_fairseq_fixtures.py`, which built the model with fairseq's parser from the flags of the
 * `train.sh` that `deno task export-fairseq` wrote, loaded our export strictly and ran it. Here: our model on
 * fairseq's state dict and config gives fairseq's logits, our export gives back fairseq's state dict bit for bit,
 * today's `train.sh` flags are the ones fairseq parsed, and fairseq's resolved args read back to the run's config.
 */
import { assert, assertEquals } from "../assert.ts";
import * as nk from "../../mod.ts";
import { BASE, FAIRSEQ_VARIANTS } from "../fixtures/fairseq_export_runs.ts";

await nk.init({ backend: "cpu", seed: 1 });

/** Model and training fields that train.sh carries (run-only fields such as out, name, backend are not). */
const CARRIED = [
  "vocabSize",
  "dModel",
  "heads",
  "dFF",
  "layers",
  "contextLength",
  "arch",
  "postAttnNorm",
  "headScale",
  "headScalePlacement",
  "ffnNorm",
  "residScale",
  "activation",
  "positions",
  "dropout",
  "attentionDropout",
  "activationDropout",
  "steps",
  "batchSize",
  "lr",
  "schedule",
  "warmup",
  "endLr",
  "beta1",
  "beta2",
  "eps",
  "weightDecay",
  "clipNorm",
  "seed",
  "evalEvery",
  "logEvery",
  "checkpointEvery",
] as const;

for (const [variant, layer] of Object.entries(FAIRSEQ_VARIANTS)) {
  const path = new URL(`../fixtures/fairseq_real_${variant}.safetensors`, import.meta.url).pathname;
  const run = nk.resolveConfig([BASE, layer]);

  Deno.test(`fairseq 0.12.2's logits for ${variant}: our model on its state dict and args agrees to 1e-4`, async () => {
    const file = await nk.readSafetensors(path);
    assertEquals([file.metadata.kind, file.metadata.fairseq], ["fairseq-real", "0.12.2"]);
    const state = Object.fromEntries(Object.entries(file.tensors).filter(([k]) => !k.startsWith("expected.")));
    const args = JSON.parse(file.metadata["fairseq.model"]);
    const config = nk.modelConfigFromFairseq(args, state["decoder.embed_tokens.weight"].shape[0]);
    for (const key of CARRIED.slice(0, 17)) assertEquals(config[key as keyof nk.ModelConfig], run[key], key);
    const model = new nk.NormFormerLM(config);
    model.eval();
    model.loadStateDict(nk.importFairseqStateDict(state));
    const inputs = file.tensors["expected.inputs"];
    const logits = await nk.tidyAsync(() =>
      model.forward(nk.tensor(inputs.data, { shape: inputs.shape, dtype: "i32" })).toArray()
    );
    const want = file.tensors["expected.logits"].data;
    assertEquals(logits.length, want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(logits[i] - want[i]));
    assert(worst <= 1e-4, `${variant}: logits max |Δ| ${worst} against fairseq`);
    const ours = await nk.exportFairseqStateDict(model);
    assertEquals(Object.keys(ours).sort(), Object.keys(state).sort());
    for (const [name, t] of Object.entries(state)) {
      if (name !== "decoder.embed_positions._float_tensor") assertEquals(ours[name].data, t.data, name);
    }
    model.dispose();
  });

  Deno.test(`train.sh for ${variant} carries the flags fairseq parsed, and they read back to the run's config`, async () => {
    const file = await nk.readSafetensors(path);
    const parsed = JSON.parse(file.metadata.train_flags);
    const script = nk.fairseqTrainScript(run, { name: variant, step: run.steps });
    assertEquals(nk.trainScriptFlags(script), parsed);
    assertEquals(nk.fairseqTrainFlags(run), parsed);
    // both ways: the flags, and fairseq's own resolved args (its checkpoint's "args", via from_fairseq.py)
    const fromFlags = nk.trainConfigFromFairseq({ ...nk.parseFairseqFlags(parsed), batch_size: run.batchSize }, 256);
    const cfg = JSON.parse(file.metadata["fairseq.cfg"]);
    const fromFairseq = nk.trainConfigFromFairseq(Object.assign({}, ...Object.values(cfg)), 256);
    for (const back of [fromFlags, fromFairseq]) {
      const resolved = nk.resolveConfig([BASE, back]);
      for (const key of CARRIED) assertEquals(resolved[key], run[key], `${variant}: ${key}`);
    }
  });
}

Deno.test("README's fairseq model flags for --preset tiny are the derived ones", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const flags = nk.fairseqModelFlags(nk.resolveConfig([{ preset: "tiny" }])).join(" ");
  assert(readme.includes(`\n${flags}\n`), `README lacks the line: ${flags}`);
});
