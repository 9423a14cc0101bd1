/** Every differentiable primitive and fused op against float64 finite differences on the CPU oracle. */
import { gradcheck } from "./gradcheck.ts";
import * as F from "../../lib/core/functional.ts";
import type { Rng } from "../../lib/core/rng.ts";

const positive = (rng: Rng) => 0.5 + rng.uniform() * 2;
const awayFromZero = (rng: Rng) => (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + rng.uniform());

const unary: [string, (x: any) => any, ((rng: Rng, i: number) => number)?][] = [
  ["neg", F.neg],
  ["exp", F.exp],
  ["log", F.log, positive],
  ["sqrt", F.sqrt, positive],
  ["rsqrt", F.rsqrt, positive],
  ["tanh", F.tanh],
  ["abs", F.abs, awayFromZero],
  ["erf", F.erf],
  ["gelu", F.gelu],
  ["geluRef", F.geluRef],
  ["relu", F.relu, awayFromZero],
  ["reluSquared", F.reluSquared, awayFromZero],
];
for (const [name, fn, value] of unary) {
  Deno.test(`grad: ${name}`, () => gradcheck(fn, [{ shape: [3, 5], value }]));
}

Deno.test("grad: gelu at large |x| (erf continued fraction branch)", () => {
  gradcheck(F.gelu, [{ shape: [8], value: (_r, i) => [-5, -3.5, -3.01, 3.01, 3.5, 4, 5.5, -0.001][i] }]);
});

const binary: [string, (a: any, b: any) => any][] = [["add", F.add], ["sub", F.sub], ["mul", F.mul], ["div", F.div]];
for (const [name, fn] of binary) {
  Deno.test(`grad: ${name} with broadcasting`, () => {
    gradcheck(fn, [{ shape: [2, 3, 4] }, { shape: [3, 1], value: positive }]);
    gradcheck(fn, [{ shape: [1, 4] }, { shape: [3, 4], value: positive }]);
  });
}
Deno.test("grad: pow with tensor and number exponents", () => {
  gradcheck(F.pow, [{ shape: [3, 4], value: positive }, { shape: [4] }]);
  gradcheck((a) => F.pow(a, 3), [{ shape: [5] }]);
});
Deno.test("grad: maximum (no ties)", () => gradcheck(F.maximum, [{ shape: [4, 3] }, { shape: [3] }]));
Deno.test("grad: affine scalar ops", () => gradcheck((a) => a.mul(3).add(2).sub(1).div(4), [{ shape: [6] }]));

Deno.test("grad: sum, mean, max over axes", () => {
  for (const axis of [undefined, 0, 1, -1]) {
    gradcheck((x) => F.sum(x, axis), [{ shape: [3, 4, 2] }]);
    gradcheck((x) => F.mean(x, axis, true), [{ shape: [3, 4, 2] }]);
    gradcheck((x) => F.max(x, axis), [{ shape: [3, 4, 2] }]);
  }
});

Deno.test("grad: matmul with transposes and batch broadcasting", () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = transA ? [2, 5, 3] : [2, 3, 5], b = transB ? [4, 5] : [5, 4];
      gradcheck((x, y) => F.matmul(x, y, { transA, transB }), [{ shape: a }, { shape: b }]);
      const b3 = transB ? [2, 4, 5] : [2, 5, 4];
      gradcheck((x, y) => F.matmul(x, y, { transA, transB }), [{ shape: a }, { shape: b3 }]);
    }
  }
  gradcheck((x, y) => F.matmul(x, y), [{ shape: [3, 4] }, { shape: [2, 4, 2] }]);
  gradcheck((x, y) => F.matmul(x, y), [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }]);
});

Deno.test("grad: shape ops", () => {
  gradcheck((x) => F.reshape(x, [4, -1]).mul(F.reshape(x, [4, -1])), [{ shape: [2, 2, 3] }]);
  gradcheck((x) => F.permute(x, [2, 0, 1]), [{ shape: [2, 3, 4] }]);
  gradcheck((x) => F.transpose(x), [{ shape: [2, 3, 4] }]);
  gradcheck((x) => F.slice(x, 1, 1, 3), [{ shape: [2, 4, 3] }]);
  gradcheck((x) => F.expand(x, [2, 3, 4]), [{ shape: [3, 1] }]);
  gradcheck((a, b) => F.concat([a, b, a], 1), [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }]);
});

Deno.test("grad: embedding with repeated ids", () => {
  gradcheck((t, ids) => F.embedding(t, ids), [{ shape: [5, 3] }, { shape: [2, 3], ids: [0, 4, 0, 2, 4, 4] }]);
});

Deno.test("grad: causal mask then softmax (fused and reference)", () => {
  gradcheck((x) => F.softmax(F.causalMask(x)), [{ shape: [2, 4, 4] }]);
  gradcheck((x) => F.softmaxRef(F.causalMask(x)), [{ shape: [2, 3, 5] }]);
  gradcheck((x) => F.causalSoftmax(x), [{ shape: [2, 3, 5] }]);
  gradcheck((x) => F.causalSoftmax(x), [{ shape: [1, 4, 4] }]);
});

Deno.test("grad: layerNorm (fused and reference)", () => {
  const specs = [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }];
  gradcheck((x, g, b) => F.layerNorm(x, g, b), specs);
  gradcheck((x, g, b) => F.layerNormRef(x, g, b), specs);
});

Deno.test("grad: crossEntropy (fused and reference) and logSoftmax", () => {
  const specs = [{ shape: [2, 3, 7] }, { shape: [2, 3], ids: [0, 6, 3, 3, 1, 5] }];
  gradcheck((x, t) => F.crossEntropy(x, t), specs);
  gradcheck((x, t) => F.crossEntropyRef(x, t), specs);
  gradcheck((x) => F.logSoftmaxRef(x), [{ shape: [3, 5] }]);
});

Deno.test("grad: dropout with a fixed seed", () => {
  gradcheck((x) => F.dropout(x, 0.3), [{ shape: [4, 8] }]);
});
