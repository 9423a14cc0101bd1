/** AdamW: fairseq's Adam against a float64 reference, state handling, and the one-dispatch-per-parameter rule. */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import * as nk from "../../mod.ts";
import { AdamW, type AdamWOptions, isNormOrScale } from "../../lib/optim/adamw.ts";

const backend = await nk.init({ backend: "cpu", seed: 7 });
const live = () => backend.memory().liveBuffers;

const SHAPES: Record<string, number[]> = {
  "decoder.layers.0.fc1.weight": [4, 3],
  "decoder.layers.0.fc1.bias": [4],
  "decoder.layers.0.ffn_layernorm.weight": [4],
  "decoder.layers.0.c_attn": [2],
};

/** Deterministic f32-representable values. */
function values(n: number, seed: number, scale = 1): Float64Array {
  const rng = new nk.Rng(seed);
  return Float64Array.from({ length: n }, () => Math.fround(scale * rng.normal()));
}

interface RefState {
  p: Float64Array[];
  m: Float64Array[];
  v: Float64Array[];
}

/** fairseq/optim/adam.py, step by step in float64. */
function refStep(s: RefState, grads: Float64Array[], lr: number, t: number, wd: number[], o: Required<AdamWOptions>) {
  const { beta1: b1, beta2: b2, eps } = o;
  const stepSize = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
  s.p.forEach((p, i) => {
    const g = grads[i], m = s.m[i], v = s.v[i];
    for (let j = 0; j < p.length; j++) {
      m[j] = b1 * m[j] + (1 - b1) * g[j];
      v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
      const denom = Math.sqrt(v[j]) + eps;
      p[j] += -wd[i] * lr * p[j]; // decoupled decay (fairseq adds it before addcdiv)
      p[j] += -stepSize * m[j] / denom;
    }
  });
}

function makeParams(): nk.Tensor[] {
  return Object.entries(SHAPES).map(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return nk.tensor(Float32Array.from(values(n, 100 + i)), { shape }).param(name);
  });
}

async function compareWithReference(opts: AdamWOptions) {
  const params = makeParams();
  const full: Required<AdamWOptions> = {
    lr: 0,
    beta1: opts.beta1 ?? 0.9,
    beta2: opts.beta2 ?? 0.98,
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay ?? 0.01,
    noDecay: opts.noDecay ?? (() => false),
  };
  const opt = new AdamW(params, opts);
  const ref: RefState = {
    p: await Promise.all(params.map(async (p) => Float64Array.from(await p.toArray()))),
    m: params.map((p) => new Float64Array(p.size)),
    v: params.map((p) => new Float64Array(p.size)),
  };
  const wd = params.map((p) => (full.noDecay(p) ? 0 : full.weightDecay));
  for (let t = 1; t <= 5; t++) {
    const grads = params.map((p, i) => values(p.size, 1000 * t + i, 0.5));
    params.forEach((p, i) => (p.grad = nk.keep(nk.tensor(Float32Array.from(grads[i]), { shape: p.shape }))));
    const lr = 0.01 * t; // a ramp, so each step's lr matters
    opt.step(lr);
    opt.zeroGrad();
    refStep(ref, grads, lr, t, wd, full);
  }
  assertEquals(opt.stepCount, 5);
  const { m, v } = opt.state();
  for (let i = 0; i < params.length; i++) {
    assertClose(await params[i].toArray(), ref.p[i], 1e-6, 1e-7, `${params[i].name} param`);
    assertClose(await m[i].toArray(), ref.m[i], 1e-6, 1e-9, `${params[i].name} exp_avg`);
    assertClose(await v[i].toArray(), ref.v[i], 1e-6, 1e-10, `${params[i].name} exp_avg_sq`);
  }
  opt.dispose();
  for (const p of params) p.dispose();
  return ref;
}

Deno.test("AdamW matches a float64 fairseq Adam over 5 steps without weight decay", async () => {
  await compareWithReference({ weightDecay: 0 });
});

Deno.test("AdamW matches a float64 fairseq Adam over 5 steps with the default weight decay 0.01", async () => {
  await compareWithReference({});
});

Deno.test("AdamW matches the reference with a large decay, other betas, and noDecay for norms and scales", async () => {
  await compareWithReference({ weightDecay: 0.5, beta1: 0.8, beta2: 0.95, eps: 1e-6, noDecay: isNormOrScale });
});

Deno.test("AdamW noDecay changes exactly the excluded parameters", async () => {
  const run = async (noDecay?: (p: nk.Tensor) => boolean) => {
    const params = makeParams();
    const opt = new AdamW(params, { weightDecay: 0.3, noDecay });
    for (const p of params) p.grad = nk.keep(nk.full(p.shape, 0.1));
    opt.step(0.1);
    const out = await Promise.all(params.map((p) => p.toArray()));
    opt.zeroGrad();
    opt.dispose();
    params.forEach((p) => p.dispose());
    return out;
  };
  const all = await run(), some = await run(isNormOrScale);
  const names = Object.keys(SHAPES);
  names.forEach((name, i) => {
    const same = all[i].every((x, j) => x === some[i][j]);
    assertEquals(same, !/layernorm|c_attn/.test(name), name);
  });
});

Deno.test("isNormOrScale matches LayerNorm gains/biases and learned scales by fairseq name", () => {
  const yes = [
    "decoder.layers.3.self_attn_layer_norm.weight",
    "decoder.layers.3.self_attn_layer_norm.bias",
    "decoder.layers.3.attn_ln.weight",
    "decoder.layers.3.ffn_layernorm.bias",
    "decoder.layers.3.final_layer_norm.weight",
    "decoder.layer_norm.weight",
    "decoder.layers.3.c_attn",
    "decoder.layers.3.w_resid",
  ];
  const no = [
    "decoder.layers.3.fc1.weight",
    "decoder.layers.3.self_attn.q_proj.bias",
    "decoder.embed_tokens.weight",
    "decoder.layers.3.self_attn.out_proj.weight",
  ];
  const is = (name: string) => isNormOrScale({ name } as nk.Tensor);
  for (const n of yes) assert.ok(is(n), n);
  for (const n of no) assert.ok(!is(n), n);
});

Deno.test("AdamW step is one adamw dispatch per parameter with a grad, no reads, no new buffers", () => {
  const params = makeParams();
  const opt = new AdamW(params, { lr: 1e-3 });
  params.slice(1).forEach((p) => (p.grad = nk.keep(nk.ones(p.shape))));
  const seen: string[] = [];
  const { dispatch, read } = backend;
  backend.dispatch = ((op: nk.OpName, outs, ins, attrs) => {
    seen.push(op);
    return dispatch.call(backend, op, outs, ins, attrs);
  }) as typeof backend.dispatch;
  backend.read = () => {
    throw new Error("read during step");
  };
  const before = live();
  try {
    opt.step();
  } finally {
    backend.dispatch = dispatch;
    backend.read = read;
  }
  assertEquals(seen, ["adamw", "adamw", "adamw"]);
  assertEquals(live(), before);
  opt.zeroGrad();
  opt.dispose();
  params.forEach((p) => p.dispose());
});

Deno.test("AdamW skips a parameter without grad: no decay, moments untouched", async () => {
  const [a, b] = [nk.tensor([1, 2]).param("a"), nk.tensor([3, 4]).param("b")];
  const opt = new AdamW([a, b], { weightDecay: 0.5 });
  b.grad = nk.keep(nk.tensor([1, 1]));
  opt.step(0.1);
  assertEquals(Array.from(await a.toArray()), [1, 2]);
  assertEquals(Array.from(await opt.state().m[0].toArray()), [0, 0]);
  assert.ok((await b.toArray())[0] < 3);
  opt.zeroGrad();
  assertEquals([a.grad, b.grad], [null, null]);
  opt.dispose();
});

Deno.test("AdamW state survives tidy and zeroGrad frees gradients", () => {
  const before = live();
  const w = nk.randn([3, 3]).param("w");
  const opt = nk.tidy(() => new AdamW([w], { lr: 1e-2 }));
  assertEquals(live(), before + 3); // w, m, v
  nk.tidy(() => {
    w.mul(w).sum().backward();
    opt.step();
    opt.zeroGrad();
  });
  assertEquals(live(), before + 3);
  opt.dispose();
  w.dispose();
  assertEquals(live(), before);
});

Deno.test("AdamW optimizerTensors round-trips through host arrays and resumes bit for bit", async () => {
  const gradAt = (t: number, p: nk.Tensor) =>
    nk.keep(nk.tensor(Float32Array.from(values(p.size, t, 0.3)), { shape: p.shape }));
  const train = (opt: AdamW, params: nk.Tensor[], from: number, to: number) => {
    for (let t = from; t <= to; t++) {
      params.forEach((p) => (p.grad = gradAt(t, p)));
      opt.step(1e-2);
      opt.zeroGrad();
    }
  };
  const a = makeParams(), optA = new AdamW(a);
  train(optA, a, 1, 4);
  const tensors = optA.optimizerTensors();
  assertEquals(Object.keys(tensors).length, 8);
  assert.ok("decoder.layers.0.fc1.weight.exp_avg" in tensors && "decoder.layers.0.c_attn.exp_avg_sq" in tensors);
  // Save after 2 steps: host copies, as a checkpoint holds them.
  const b = makeParams(), optB = new AdamW(b);
  train(optB, b, 1, 2);
  const saved = Object.fromEntries(
    await Promise.all(
      Object.entries(optB.optimizerTensors()).map(async (
        [k, t],
      ) => [k, { shape: [...t.shape], data: await t.toArray() }]),
    ),
  );
  const pSaved = await Promise.all(b.map((p) => p.toArray()));
  const c = makeParams();
  c.forEach((p, i) => backend.write(p.buffer, pSaved[i]));
  const optC = new AdamW(c);
  optC.loadOptimizerTensors(saved, optB.stepCount);
  assertEquals(optC.stepCount, 2);
  train(optC, c, 3, 4);
  for (let i = 0; i < a.length; i++) assertEquals(await c[i].toArray(), await a[i].toArray());
  // loadState from live tensors copies, so the source can be disposed afterwards.
  const d = makeParams(), optD = new AdamW(d);
  const expected = await tensors["decoder.layers.0.fc1.weight.exp_avg_sq"].toArray();
  optD.loadState(optA.state());
  optA.dispose();
  assertEquals(optD.stepCount, 4);
  assertEquals(await optD.state().v[0].toArray(), expected);
  for (const o of [optB, optC, optD]) o.dispose();
  for (const p of [...a, ...b, ...c, ...d]) p.dispose();
});

Deno.test("AdamW errors name the value and what was expected", () => {
  const w = nk.zeros([2]).param("w");
  assertThrows(() => new AdamW([w], { beta2: 1 }), /Invalid AdamW beta2 1: expected 0 ≤ beta2 < 1/);
  assertThrows(() => new AdamW([w], { eps: 0 }), /Invalid AdamW eps 0/);
  assertThrows(() => new AdamW([w], { weightDecay: -1 }), /Invalid AdamW weightDecay -1/);
  assertThrows(() => new AdamW([w, w]), /listed twice/);
  const opt = new AdamW([w]);
  assertThrows(() => opt.step(), /without a learning rate/);
  assertThrows(() => opt.step(NaN), /Invalid AdamW lr null/);
  w.grad = nk.keep(nk.zeros([3]));
  assertThrows(() => opt.step(1), /Cannot step parameter "w" of shape \[2\]: its grad is f32 \[3\]/);
  opt.zeroGrad();
  assertThrows(() => opt.loadOptimizerTensors({ "w.exp_avg": new Float32Array(2) }, 1), /"w.exp_avg_sq" is missing/);
  assertThrows(
    () => opt.loadOptimizerTensors({ "w.exp_avg": new Float32Array(2), "w.exp_avg_sq": new Float32Array(2), x: w }, 1),
    /Cannot load optimizer tensor "x"/,
  );
  assertThrows(
    () => opt.loadOptimizerTensors({ "w.exp_avg": new Float32Array(3), "w.exp_avg_sq": new Float32Array(2) }, 1),
    /"w.exp_avg": got 3 values, expected 2/,
  );
  assertThrows(() => opt.loadState({ step: -1, m: [], v: [] }), /Invalid AdamW step -1/);
  assertThrows(() => opt.loadState({ step: 1, m: [], v: [] }), /Cannot load 0 m tensors into AdamW over 1 parameters/);
  assertThrows(() => new AdamW([nk.zeros([2]).param()]).optimizerTensors(), /parameter 0: it has no name/);
  opt.dispose();
  w.dispose();
});
