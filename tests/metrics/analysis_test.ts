/** The analyses on synthetic records with known answers. */
import { assertClose, assertEquals, assertThrows } from "../assert.ts";
import {
  computeSaving,
  computeToReach,
  explosionStep,
  gradMismatch,
  meanStd,
  median,
  movingAverage,
  scaleMedians,
} from "../../lib/metrics/analysis.ts";
import type { EvalRecord, RunRecord, TrainRecord } from "../../lib/metrics/records.ts";

const train = (step: number, loss: number, grads?: Record<string, [number, number]>): TrainRecord => ({
  kind: "train",
  step,
  tokens: step * 10,
  flops: step * 100,
  time: step,
  lr: 1e-3,
  loss,
  gradNorm: 1,
  grads,
});
const ev = (step: number, loss: number, scales?: EvalRecord["scales"]): EvalRecord => ({
  kind: "eval",
  step,
  tokens: step * 10,
  flops: step * 100,
  time: step,
  split: "valid",
  loss,
  ppl: Math.exp(loss),
  bpb: loss,
  scales,
});

Deno.test("movingAverage is a trailing mean", () => {
  assertEquals(movingAverage([2, 4, 6, 8], 2), [2, 3, 5, 7]);
  assertThrows(() => movingAverage([1], 0), /window 0/);
});

Deno.test("gradMismatch: ratio of layer 0 to the last layer, smoothed", () => {
  const rs: RunRecord[] = [1, 2, 3].map((s) =>
    train(s, 1, {
      "decoder.layers.0.fc2.weight": [4 * s, 0],
      "decoder.layers.1.fc2.weight": [s, 0],
      "decoder.layers.0.fc1.weight": [9, 9],
    })
  );
  const m = gradMismatch(rs, "fc2.weight", 1);
  assertEquals(m.ratio, 4);
  assertEquals(m.step, 3);
  assertClose([m.cv], [0.6], 1e-12);
  assertThrows(() => gradMismatch([train(1, 1)]), /train with gradStats=true/);
});

Deno.test("scaleMedians reads the last evaluation's summaries by layer", () => {
  const s = (median: number) => ({ min: 0, q1: 0, median, q3: 0, max: 0, mean: 0 });
  const rs = [
    ev(0, 5, { "decoder.layers.0.c_attn": s(9) }),
    ev(10, 4, { "decoder.layers.1.c_attn": s(0.5), "decoder.layers.0.c_attn": s(1.5) }),
  ];
  assertEquals(scaleMedians(rs, "headScale"), [1.5, 0.5]);
  assertThrows(() => scaleMedians([ev(0, 1)], "ffnNorm"), /no evaluation record has them/);
});

Deno.test("computeToReach interpolates; computeSaving compares against the baseline's final loss", () => {
  const base = [ev(0, 6), ev(10, 4), ev(20, 3)];
  const cand = [ev(0, 6), ev(10, 3.5), ev(20, 2.5)];
  assertEquals(computeToReach(cand, 3, "step"), 15);
  assertEquals(computeToReach(cand, 1, "step"), null);
  assertClose([computeSaving(base, cand)!], [1 - 1500 / 2000], 1e-12);
});

Deno.test("explosionStep: non-finite or 1.5× the running minimum after warm-up", () => {
  assertEquals(explosionStep([train(1, 5), train(21, 2), train(22, 3.5)]), 22);
  assertEquals(explosionStep([train(1, 5), train(2, 9), train(30, 4)]), null); // early spike ignored
  assertEquals(explosionStep([train(1, 5), train(2, NaN)]), 2);
  assertEquals(explosionStep([train(1, 5), train(2, 4)], 1.5, 20, true), 3);
});

Deno.test("meanStd and median", () => {
  assertEquals(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assertEquals(median([3, 1, 2, 10]), 2.5);
  assertThrows(() => median([]), /empty/);
});
