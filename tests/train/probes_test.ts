/** Activation probes (actStatsEvery) and learned-scale init (initScales): exact where they can be, inert otherwise. */
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { tensor } from "../../lib/core/create.ts";
import { type ActivationProbes, NormFormerLM } from "../../lib/model/normformer.ts";
import { readScaleValues, setLearnedScales } from "../../lib/model/scale_init.ts";
import { PAPER_SCALE_MEDIANS } from "../../lib/metrics/paper.ts";
import { train } from "../../lib/train/loop.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import type { TrainRecord } from "../../lib/metrics/records.ts";

await init({ backend: "cpu", seed: 3 });

const cfg = { arch: "normformer", vocabSize: 32, dModel: 16, heads: 2, dFF: 32, layers: 3, contextLength: 8 } as const;
const ids = (seed: number) => tensor([Array.from({ length: 8 }, (_, i) => (i * 7 + seed) % 32)], { dtype: "i32" });

Deno.test("probes: the fc2-output gradient summed over tokens is fc2.bias's gradient, layer by layer", async () => {
  const model = new NormFormerLM(cfg);
  const probes: ActivationProbes = { fc2In: [], attnOut: [], stream: [], fc2OutGrad: [] };
  model.loss(ids(1), ids(2), { attnLogitMax: [], activations: probes }).backward();
  assertEquals(probes.fc2OutGrad.length, 3);
  for (const [i, layer] of model.layers.entries()) {
    const summed = await probes.fc2OutGrad[i].grad!.sum(0).sum(0).toArray(); // (B, T, C) → (C)
    const bias = await layer.fc2.bias!.grad!.toArray();
    for (let c = 0; c < bias.length; c++) assert.ok(Math.abs(summed[c] - bias[c]) < 1e-6, `layer ${i} channel ${c}`);
  }
  // fc2's input follows LN_ffn with gain 1: its RMS is 1 up to LayerNorm's eps.
  for (const r of probes.fc2In) assert.ok(Math.abs(await r.item() - 1) < 1e-3);
  model.dispose();
});

const run = { preset: "tiny", corpus: "fixture", layers: 2, dModel: 16, heads: 2, dFF: 32, contextLength: 16 };
const small = (extra: Record<string, unknown>) =>
  resolveConfig([{ ...run, batchSize: 2, steps: 6, warmup: 1, evalEvery: 0, gradStats: true, ...extra }]);
const trainRecords = async (extra: Record<string, unknown>) => {
  const out: TrainRecord[] = [];
  const r = await train({ config: small(extra), onRecord: (x) => x.kind === "train" && out.push(x) });
  r.model.dispose();
  r.optimizer.dispose();
  return out;
};

Deno.test("probes: recording activations every 2 steps leaves the training trajectory bit-identical", async () => {
  const plain = await trainRecords({ arch: "normformer" });
  const probed = await trainRecords({ arch: "normformer", actStatsEvery: 2 });
  assertEquals(probed.map((r) => r.loss), plain.map((r) => r.loss));
  assertEquals(probed.map((r) => !!r.activations), [false, true, false, true, false, true]);
  const a = probed[1].activations!;
  for (const v of [a.fc2In, a.fc2OutGrad, a.attnOut, a.stream]) {
    assertEquals(v.length, 2);
    assert.ok(v.every((x) => Number.isFinite(x) && x > 0));
  }
});

Deno.test("initScales: the paper's medians fill each layer's gains; wrong inputs are refused by name", async () => {
  const model = new NormFormerLM({ ...cfg, layers: 12 });
  setLearnedScales(model, await readScaleValues("paper"));
  const ffn = await model.layers[4].ffnLayernorm!.weight.toArray();
  assert.ok(ffn.every((v) => Math.abs(v - PAPER_SCALE_MEDIANS.ffnNorm[4]) < 1e-7));
  const pa = await model.layers[0].attnLn!.weight.toArray();
  assert.ok(pa.every((v) => Math.abs(v - PAPER_SCALE_MEDIANS.postAttnNorm[0]) < 1e-7));
  const hs = await model.layers[11].cAttn!.toArray();
  assert.ok(hs.every((v) => Math.abs(v - PAPER_SCALE_MEDIANS.headScale[11]) < 1e-7));
  assertThrows(() => setLearnedScales(model, { ffnNorm: [1, 2] }), /expected 12 finite numbers/);
  assertThrows(() => setLearnedScales(model, { headScale: Array(12).fill(NaN) }), /expected 12 finite/);
  model.dispose();
  const preln = new NormFormerLM({ ...cfg, arch: "preln" });
  assertThrows(() => setLearnedScales(preln, { ffnNorm: [1, 1, 1] }), /the model has no ffnNorm/);
  preln.dispose();
  await assertRejects(() => readScaleValues("/nonexistent/scales.json"), /^Cannot read initScales "\/nonexistent/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify({ ffnGain: [1] }));
  await assertRejects(() => readScaleValues(`${dir}/s.json`), /unknown key "ffnGain"/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("initScales in a run: a layer-count mismatch is a config error before any step", async () => {
  await assertRejects(
    () => trainRecords({ arch: "normformer", initScales: "paper" }),
    /^Invalid initScales "paper": Cannot set ffnNorm scales/,
  );
});
