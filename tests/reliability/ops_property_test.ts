/**
 * Property tests of the op set: random ops on random shapes (size-1 and empty axes, broadcasting) and values
 * (large magnitudes, denormals, zeros, −∞ masks), forward and backward, WebGPU against the CPU oracle. The seed is
 * printed on failure (replay with NK_PROPERTY_SEED); NK_PROPERTY_CASES sets the count (default 1500).
 */
import { assert } from "../assert.ts";
import * as nk from "../../mod.ts";
import { Rng } from "../../lib/core/rng.ts";
import type { Tensor } from "../../lib/core/tensor.ts";
import { gpuBackendOrReason } from "../backends.ts";

const F = nk.F;
const gpu = await gpuBackendOrReason();
const ignore = typeof gpu === "string";
if (ignore) console.log(`ops_property_test: WebGPU property tests skipped: ${gpu}`);
const cpu = nk.createCpuBackend();
const SEED = Number(Deno.env.get("NK_PROPERTY_SEED") ?? 20261128);
const CASES = Number(Deno.env.get("NK_PROPERTY_CASES") ?? 1500);

type Kind = "any" | "positive" | "moderate" | "nonzero" | "logits";
interface Input {
  shape: number[];
  kind: Kind;
}
interface Case {
  name: string;
  inputs: Input[];
  ids?: { shape: number[]; vocab: number };
  fn: (xs: Tensor[], ids?: Tensor) => Tensor;
}

function value(rng: Rng, kind: Kind): number {
  const u = rng.uniform();
  if (kind === "positive") return u < 0.05 ? 1e-38 * (1 + rng.uniform()) : 0.1 + 3 * rng.uniform();
  if (kind === "nonzero") return (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + 2 * rng.uniform());
  // pow's base: WGSL defines pow as exp2(y·log2(x)), whose error grows with |y·log2(x)|, so tiny bases are out.
  if (kind === "moderate") return 0.1 + 3 * u;
  if (kind === "logits") return u < 0.1 ? 1e4 * rng.normal() : 3 * rng.normal();
  if (u < 0.03) return 0;
  if (u < 0.06) return 1e-41 * rng.normal(); // denormal
  if (u < 0.09) return 50 * rng.normal();
  return rng.normal();
}

const dim = (rng: Rng, allowEmpty: boolean) => {
  const u = rng.uniform();
  return allowEmpty && u < 0.04 ? 0 : u < 0.25 ? 1 : 1 + rng.int(9);
};
const shapeOf = (rng: Rng, rank: number, allowEmpty = true) => Array.from({ length: rank }, () => dim(rng, allowEmpty));
/** A shape broadcastable to `s`: some axes set to 1, maybe fewer leading axes. */
const broadcastOf = (rng: Rng, s: number[]) => s.slice(rng.int(s.length + 1)).map((d) => (rng.uniform() < 0.3 ? 1 : d));

const UNARY: [string, (x: Tensor) => Tensor, Kind][] = [
  ["exp", F.exp, "any"],
  ["log", F.log, "positive"],
  ["sqrt", F.sqrt, "positive"],
  ["rsqrt", (x) => F.rsqrt(x), "positive"],
  ["tanh", F.tanh, "any"],
  ["erf", F.erf, "any"],
  ["gelu", F.gelu, "any"],
  ["relu", F.relu, "nonzero"],
  ["abs", F.abs, "nonzero"],
  ["neg", F.neg, "any"],
];
const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, Kind, Kind][] = [
  ["add", F.add, "any", "any"],
  ["sub", F.sub, "any", "any"],
  ["mul", F.mul, "any", "any"],
  ["div", F.div, "any", "nonzero"],
  ["pow", F.pow, "moderate", "nonzero"],
  ["maximum", F.maximum, "nonzero", "nonzero"],
];

function drawCase(rng: Rng): Case {
  const pick = rng.int(11);
  const rank = 1 + rng.int(3);
  if (pick <= 1) {
    const [name, fn, kind] = UNARY[rng.int(UNARY.length)];
    return { name, inputs: [{ shape: shapeOf(rng, rank), kind }], fn: ([x]) => fn(x) };
  }
  if (pick <= 3) {
    const [name, fn, ka, kb] = BINARY[rng.int(BINARY.length)];
    const s = shapeOf(rng, rank);
    const [sa, sb] = rng.uniform() < 0.5 ? [s, broadcastOf(rng, s)] : [broadcastOf(rng, s), s];
    return { name, inputs: [{ shape: sa, kind: ka }, { shape: sb, kind: kb }], fn: ([a, b]) => fn(a, b) };
  }
  if (pick === 4) {
    const s = shapeOf(rng, rank, false), axis = rng.int(rank), op = ["sum", "mean", "max"][rng.int(3)];
    const fn = op === "sum" ? F.sum : op === "mean" ? F.mean : F.max;
    return {
      name: `${op}(axis ${axis})`,
      inputs: [{ shape: s, kind: "nonzero" }],
      fn: ([x]) => fn(x, axis, rng.uniform() < 0.5),
    };
  }
  if (pick === 5) {
    const [m, n, k, b] = [dim(rng, false), dim(rng, false), dim(rng, false), dim(rng, false)];
    const transA = rng.uniform() < 0.5, transB = rng.uniform() < 0.5, shared = rng.uniform() < 0.4;
    const sa = transA ? [b, k, m] : [b, m, k];
    const sb = shared ? (transB ? [n, k] : [k, n]) : transB ? [b, n, k] : [b, k, n];
    return {
      name: `matmul(${transA},${transB})`,
      inputs: [{ shape: sa, kind: "any" }, { shape: sb, kind: "any" }],
      fn: ([a, c]) => F.matmul(a, c, { transA, transB }),
    };
  }
  if (pick === 6) {
    const s = [dim(rng, false), dim(rng, false), 1 + rng.int(40)];
    const masked = rng.uniform() < 0.5;
    if (masked) s[1] = s[2];
    return {
      name: masked ? "causal softmax" : "softmax",
      inputs: [{ shape: s, kind: "logits" }],
      fn: ([x]) => F.softmax(masked ? F.causalMask(x) : x),
    };
  }
  if (pick === 7) {
    const c = 1 + rng.int(40), s = [dim(rng, false), dim(rng, false), c];
    return {
      name: "layerNorm",
      inputs: [{ shape: s, kind: "any" }, { shape: [c], kind: "any" }, { shape: [c], kind: "any" }],
      fn: ([x, g, b]) => F.layerNorm(x, g, b),
    };
  }
  if (pick === 8) {
    const v = 1 + rng.int(60), rows = [dim(rng, false), dim(rng, false)];
    return {
      name: "crossEntropy",
      inputs: [{ shape: [...rows, v], kind: "logits" }],
      ids: { shape: rows, vocab: v },
      fn: ([x], t) => F.crossEntropy(x, t!),
    };
  }
  if (pick === 9) {
    const v = 1 + rng.int(20), c = 1 + rng.int(9);
    return {
      name: "embedding",
      inputs: [{ shape: [v, c], kind: "any" }],
      ids: { shape: shapeOf(rng, 2, false), vocab: v },
      fn: ([w], ids) => F.embedding(w, ids!),
    };
  }
  const s = shapeOf(rng, 3, false), axis = rng.int(3), start = rng.int(s[axis] + 1);
  const end = start + rng.int(s[axis] - start + 1);
  return {
    name: "permute/slice/concat",
    inputs: [{ shape: s, kind: "any" }],
    fn: ([x]) =>
      F.concat(
        [F.slice(F.permute(x, [2, 0, 1]), (axis + 1) % 3, 0, 1), F.slice(x, axis, start, end).reshape([-1, 1, 1])].map((
          t,
        ) => t.reshape([-1])),
        0,
      ),
  };
}

/** Output and every input gradient of one case on one backend, flattened into one readback. */
async function evaluate(
  c: Case,
  backend: nk.Backend,
  data: Float32Array[],
  ids: Int32Array | null,
  seed: Float32Array | null,
) {
  nk.setBackend(backend);
  return await nk.tidyAsync(async () => {
    const xs = c.inputs.map((inp, i) => nk.tensor(data[i], { shape: inp.shape, requiresGrad: true }));
    const t = ids && c.ids ? nk.tensor(ids, { shape: c.ids.shape, dtype: "i32" }) : undefined;
    const y = c.fn(xs, t);
    const s = seed ?? new Float32Array(y.size).map((_, i) => Math.sin(i + 1));
    if (y.size > 0) y.backward(nk.tensor(s, { shape: y.shape }));
    const parts = [y, ...xs.map((x) => x.grad ?? nk.zeros(x.shape))].map((p) => p.reshape([-1]));
    return { out: (await F.concat(parts, 0).toArray()) as Float32Array, size: y.size, seed: s };
  });
}

function agree(a: Float32Array, b: Float32Array): string | null {
  let scale = 0;
  for (const v of b) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) return `entry ${i}: webgpu ${x}, cpu ${y}`;
    } else if (!(Math.abs(x - y) <= 2e-4 * Math.abs(y) + 2e-5 * scale + 1e-30)) {
      return `entry ${i}: webgpu ${x}, cpu ${y}`;
    }
  }
  return null;
}

Deno.test({
  name: `op properties: ${CASES} random cases, WebGPU against the CPU oracle, forward and backward`,
  ignore,
  fn: async () => {
    const rng = new Rng(SEED);
    const counts: Record<string, number> = {};
    for (let k = 0; k < CASES; k++) {
      const c = drawCase(rng);
      const data = c.inputs.map((inp) =>
        Float32Array.from({ length: inp.shape.reduce((a, b) => a * b, 1) }, () => value(rng, inp.kind))
      );
      const ids = c.ids
        ? Int32Array.from({ length: c.ids.shape.reduce((a, b) => a * b, 1) }, () => rng.int(c.ids!.vocab))
        : null;
      const ref = await evaluate(c, cpu, data, ids, null);
      const got = await evaluate(c, gpu as nk.Backend, data, ids, ref.seed);
      const why = agree(got.out, ref.out);
      assert.ok(
        why === null,
        `case ${k} (${c.name}, shapes ${JSON.stringify(c.inputs.map((i) => i.shape))}), seed ${SEED}: ${why}`,
      );
      counts[c.name] = (counts[c.name] ?? 0) + 1;
    }
    assert.ok(Object.keys(counts).length >= 15, `only ${Object.keys(counts).length} kinds of op were drawn`);
  },
});
