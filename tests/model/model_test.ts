/** NormFormer family: sizing against the built model, FLOPs against dispatched matmuls, the port's sanity checks. */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";
import type { Backend } from "../../lib/backend/backend.ts";

const cpu = await nk.init({ backend: "cpu", seed: 1 });
const small = { vocabSize: 37, dModel: 16, heads: 2, dFF: 40, layers: 2, contextLength: 8 };
const ids = () => nk.tensor([[3, 5, 7, 9, 11, 2], [0, 36, 4, 4, 8, 1]], { dtype: "i32" });
const targets = () => nk.tensor([[5, 7, 9, 11, 2, 0], [36, 4, 4, 8, 1, 3]], { dtype: "i32" });

Deno.test("paramCount equals the built model for every arch and switch", () => {
  const configs: Partial<nk.ModelConfig>[] = [
    { arch: "postln" },
    { arch: "preln" },
    { arch: "normformer" },
    { arch: "normformer", residScale: true },
    { arch: "normformer", positions: "learned" },
    { arch: "preln", ffnNorm: true },
  ];
  for (const c of configs) {
    const model = new nk.NormFormerLM({ ...small, ...c });
    const counted = model.parameters().reduce((s, p) => s + p.size, 0);
    assertEquals(nk.paramCount(model.cfg).total, counted);
    model.dispose();
  }
});

Deno.test("NormFormer adds 2C + 2F + H per layer (+ C with residScale); 125M adds 92,304", () => {
  const paper = nk.resolveModelConfig({
    arch: "normformer",
    vocabSize: 50257,
    dModel: 768,
    heads: 12,
    dFF: 3072,
    layers: 12,
  });
  assertEquals(nk.paramCount(paper).extraPerLayer * 12, 92_304);
  const withLambda = nk.resolveModelConfig({ ...small, residScale: true });
  assertEquals(nk.paramCount(withLambda).extraPerLayer, 2 * 16 + 2 * 40 + 2 + 16);
});

/** Wrap a backend to count 2·m·n·k of every matmul dispatched. */
function countingBackend(inner: Backend): Backend & { flops: number } {
  const counter = Object.create(inner) as Backend & { flops: number };
  counter.flops = 0;
  counter.dispatch = (op, outs, ins, attrs) => {
    if (op === "matmul") {
      const a = attrs as nk.OpAttrs["matmul"];
      counter.flops += 2 * a.batch * a.m * a.n * a.k;
    }
    inner.dispatch(op, outs, ins, attrs);
  };
  return counter;
}

Deno.test("trainingFlopsPerToken equals the matmul FLOPs of a forward + backward", () => {
  const counter = countingBackend(cpu);
  nk.setBackend(counter);
  const model = new nk.NormFormerLM({ ...small, arch: "normformer" });
  counter.flops = 0;
  model.loss(ids(), targets()).backward();
  assertEquals(counter.flops, 12 * nk.trainingFlopsPerToken(model.cfg, 6));
  model.dispose();
  nk.setBackend(cpu);
});

async function lossAndGrads(cfg: Partial<nk.ModelConfig>, seed = 4) {
  nk.setRng(new nk.Rng(seed));
  const model = new nk.NormFormerLM({ ...small, ...cfg });
  const loss = model.loss(ids(), targets());
  loss.backward();
  const grads = new Map<string, Float32Array>();
  for (const [n, p] of model.namedParameters()) grads.set(n, (await p.grad!.toArray()) as Float32Array);
  const value = await loss.item();
  model.dispose();
  return { value, grads };
}

Deno.test("all switches off equals Pre-LN exactly; HeadScale γ = 1 in either placement equals Pre-LN", async () => {
  const pre = await lossAndGrads({ arch: "preln" });
  const off = await lossAndGrads({ arch: "normformer", postAttnNorm: false, headScale: false, ffnNorm: false });
  assertEquals(off.value, pre.value);
  for (const placement of ["preOutProj", "postOutProj"] as const) {
    const hs = await lossAndGrads({ arch: "preln", headScale: true, headScalePlacement: placement });
    assertClose([hs.value], [pre.value], 1e-6);
    for (const [n, g] of pre.grads) assertClose(hs.grads.get(n)!, g, 1e-4, 1e-6, n);
  }
});

Deno.test("post-attn LN or FFN LN alone differ from Pre-LN at init (they normalise from step 0)", async () => {
  const pre = await lossAndGrads({ arch: "preln" });
  for (const sw of [{ postAttnNorm: true }, { ffnNorm: true }]) {
    const v = await lossAndGrads({ arch: "preln", ...sw });
    assert.notEqual(v.value, pre.value);
  }
});

Deno.test("init follows fairseq: bounds of q/k/v, out-proj, fc1, fc2; γ and λ are ones; LN gain 1 bias 0", async () => {
  const model = new nk.NormFormerLM({ ...small, dModel: 64, heads: 4, dFF: 256, residScale: true });
  const p = Object.fromEntries(model.namedParameters());
  const maxAbs = async (n: string) => Math.max(...Array.from(await p[n].toArray(), Math.abs));
  const near = (v: number, bound: number) => v <= bound && v > 0.9 * bound;
  assert.ok(near(await maxAbs("decoder.layers.0.self_attn.q_proj.weight"), Math.sqrt(3 / 128)));
  assert.ok(near(await maxAbs("decoder.layers.0.self_attn.out_proj.weight"), Math.sqrt(3 / 64)));
  assertEquals(await maxAbs("decoder.layers.0.self_attn.out_proj.bias"), 0);
  assert.ok(near(await maxAbs("decoder.layers.0.fc1.weight"), 1 / 8));
  assert.ok(near(await maxAbs("decoder.layers.0.fc2.weight"), 1 / 16));
  assertEquals(Array.from(await p["decoder.layers.1.c_attn"].toArray()), [1, 1, 1, 1]);
  assertEquals(new Set(await p["decoder.layers.1.w_resid"].toArray()), new Set([1]));
  assertEquals(new Set(await p["decoder.layers.0.ffn_layernorm.weight"].toArray()), new Set([1]));
  const e = await p["decoder.embed_tokens.weight"].toArray();
  const std = Math.sqrt(Array.from(e).reduce((s, v) => s + v * v, 0) / e.length);
  assert.ok(Math.abs(std - 1 / 8) < 0.01, `embedding std ${std}`);
  model.dispose();
});

Deno.test("a training forward keeps only what backward reads, with and without dropout", () => {
  // NormFormer (post-attn LN, HeadScale after out_proj, FFN LN). Per layer and token: the LN_a output, q, k, v and
  // the merged heads in head layout, out_proj's output (LN_pa's input), the residual sum, LN_f's output (9 C); fc1's
  // output, GELU's (or its dropped copy), LN_ffn's (3 F); the attention probabilities (H·T, and their dropped copy);
  // mean and rstd of 4 LNs (8). Freed: the products before bias adds, the scores, LN_pa's output and fc2's (and
  // their dropped copies) once added to the stream, what dropout copied where no rule reads it. No masks.
  const [L, C, H, F, B, T, V] = [2, 16, 2, 64, 2, 32, 32], N = B * T;
  const ids = nk.tensor(Int32Array.from({ length: N }, (_, i) => i % V), { shape: [B, T], dtype: "i32" });
  const tgt = nk.tensor(Int32Array.from({ length: N }, (_, i) => (7 * i) % V), { shape: [B, T], dtype: "i32" });
  const floats = () => cpu.memory().liveBytes / 4;
  for (const p of [0, 0.1]) {
    const model = new nk.NormFormerLM({
      ...{ arch: "normformer", vocabSize: V, dModel: C, heads: H, dFF: F, layers: L },
      ...{ dropout: p, attentionDropout: p, activationDropout: p },
    });
    nk.tidy(() => model.loss(ids, tgt).dispose()); // makes the sinusoid table
    nk.tidy(() => {
      const before = floats();
      const loss = model.loss(ids, tgt);
      const probs = p > 0 ? 2 : 1;
      // + q's scaled and HeadScale's (C, C) weights
      const perLayer = N * (9 * C + 3 * F + probs * H * T + 8) + 2 * C * C + 3 * C;
      // Embedding: gather, ·√C, the (T, C) positions, their sum; the final LN (C + 2); logits V, loss and lse (2).
      const model_ = 3 * N * C + T * C + N * (C + 2) + N * V + 2 * N + 2;
      assertEquals(floats() - before, L * perLayer + model_, `dropout ${p}`);
      loss.backward();
      for (const w of model.parameters()) w.grad = (w.grad?.dispose(), null);
    });
    model.dispose();
  }
});

Deno.test("bad configs and inputs are named", () => {
  assertThrows(() => new nk.NormFormerLM({ ...small, heads: 3 }), /heads 3: dModel 16 must be divisible by it/);
  assertThrows(
    () => new nk.NormFormerLM({ ...small, arch: "postln", headScale: true }),
    /NormFormer's operations extend Pre-LN/,
  );
  assertThrows(() => nk.resolveModelConfig({ arch: "gpt" as "preln" }), /Unknown arch "gpt"/);
  assertThrows(() => nk.resolveModelConfig({ dropout: 1.5 }), /Invalid dropout 1.5/);
  const model = new nk.NormFormerLM(small);
  assertThrows(() => model.forward(nk.zeros([1, 9], { dtype: "i32" })), /length 9: the context length is 8/);
  assertThrows(() => model.forward(nk.zeros([1, 4])), /f32 ids of shape \[1, 4\]: expected i32/);
  assertThrows(() => model.loadStateDict({}), /parameter "decoder.embed_tokens.weight" \[37, 16\] is missing/);
  model.dispose();
});
