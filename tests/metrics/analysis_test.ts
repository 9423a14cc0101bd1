/** The analyses on synthetic records with known answers. */
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import {
  computeSaving,
  computeToReach,
  explosionStep,
  fc2RatioDecomposition,
  gradMismatch,
  gradRatioWindow,
  meanStd,
  median,
  movingAverage,
  pairedSavings,
  scaleMedians,
  sumLr,
  sumLrOfSchedule,
} from "../../lib/metrics/analysis.ts";
import type { EvalRecord, RunRecord, TrainRecord } from "../../lib/metrics/records.ts";
import { PAPER_125M_SCHEDULE } from "../../lib/metrics/paper.ts";

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

const fc2 = (step: number, l0: number, l1: number, act?: TrainRecord["activations"]): TrainRecord => ({
  ...train(step, 1, { "decoder.layers.0.fc2.weight": [l0, 0], "decoder.layers.1.fc2.weight": [l1, 0] }),
  activations: act,
});

Deno.test("gradRatioWindow: ratio of window means, steps outside the window ignored", () => {
  const rs = [fc2(1, 100, 1), fc2(2, 6, 2), fc2(3, 10, 2), fc2(4, 2, 6)];
  const w = gradRatioWindow(rs, { from: 2, to: 3 });
  assertEquals([w.byLayer, w.steps], [[8, 2], 2]);
  assertClose([w.ratio], [4]);
  assertClose([gradRatioWindow(rs, { from: 2 }).ratio], [18 / 10]);
  assertThrows(() => gradRatioWindow(rs, { from: 9 }), /no record there/);
});

Deno.test("fc2RatioDecomposition: ratio = output-gradient ratio × input ratio × remainder", () => {
  const act = (u0: number, g0: number) => ({ fc2In: [u0, 1], fc2OutGrad: [g0, 1], attnOut: [1, 1], stream: [1, 2] });
  const rs = [fc2(10, 12, 1, act(2, 3)), fc2(11, 12, 1), fc2(20, 12, 1, act(4, 1))];
  const d = fc2RatioDecomposition(rs, 10);
  assertEquals([d.samples, d.means.fc2In, d.means.fc2OutGrad, d.means.stream], [2, [3, 1], [2, 1], [1, 2]]);
  assertClose([d.ratio, d.input, d.outGrad, d.remainder], [12, 3, 2, 2]);
  assertClose([d.outGrad * d.input * d.remainder], [d.ratio]);
  assertThrows(() => fc2RatioDecomposition([fc2(1, 1, 1)], 1), /no activation stats there/);
});

Deno.test("sumLr adds the lr of applied updates; pairedSavings pairs baseline and candidate", () => {
  const skipped = { ...train(3, 1), lr: 5, skipped: true };
  assertClose([sumLr([train(1, 1), train(2, 1), skipped])], [2e-3]);
  const base = [ev(0, 5), ev(10, 3)], fast = [ev(0, 5), ev(5, 3), ev(10, 2)], never = [ev(0, 5), ev(10, 4)];
  assertEquals(pairedSavings([[base, fast], [base, never]], "tokens"), [0.5, null]);
});

Deno.test("sumLrOfSchedule: a linear warm-up and decay integrates to half the peak times the steps", () => {
  assertClose([sumLrOfSchedule({ schedule: "linear", lr: 2, warmup: 2, steps: 4 })], [1 + 2 + 1 + 0]);
  assertClose([sumLrOfSchedule({ schedule: "constant", lr: 1e-3, warmup: 0, steps: 10 })], [1e-2]);
  const paper = sumLrOfSchedule(PAPER_125M_SCHEDULE);
  assert.ok(Math.abs(paper - 858.3) < 0.5, `paper 125M Σlr ${paper}`);
});
