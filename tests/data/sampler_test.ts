import { assert, assertEquals, assertThrows } from "../assert.ts";
import { type Batch, BatchSampler, type BatchSamplerState } from "../../lib/data/sampler.ts";
import { iota } from "./_helpers.ts";

const take = (s: BatchSampler, n: number): Batch[] => Array.from({ length: n }, () => s.next());

Deno.test("BatchSampler gives B×T inputs whose targets are the inputs shifted by one", () => {
  const tokens = iota(1000); // token value = position, so a shift by one is +1
  const s = new BatchSampler(tokens, { batchSize: 3, contextLength: 8, seed: 7 });
  for (const { inputs, targets, batchSize, contextLength } of take(s, 20)) {
    assertEquals([inputs.length, targets.length, batchSize, contextLength], [24, 24, 3, 8]);
    for (let i = 0; i < 24; i++) assertEquals(targets[i], inputs[i] + 1);
    for (let b = 0; b < 3; b++) {
      for (let t = 1; t < 8; t++) assertEquals(inputs[b * 8 + t], inputs[b * 8] + t, "rows are contiguous windows");
    }
  }
});

Deno.test("BatchSampler is deterministic for a seed and differs across seeds", () => {
  const tokens = iota(5000);
  const a = take(new BatchSampler(tokens, { batchSize: 4, contextLength: 16, seed: 1 }), 10);
  const b = take(new BatchSampler(tokens, { batchSize: 4, contextLength: 16, seed: 1 }), 10);
  const c = take(new BatchSampler(tokens, { batchSize: 4, contextLength: 16, seed: 2 }), 10);
  assertEquals(a, b);
  assert(JSON.stringify(a) !== JSON.stringify(c));
});

Deno.test("BatchSampler resumed from a JSON state continues bit for bit, across epochs", () => {
  const tokens = iota(700);
  const opts = { batchSize: 5, contextLength: 10, seed: 3 };
  const straight = new BatchSampler(tokens, opts);
  const expected = take(straight, 40); // 200 rows over ~69 blocks per epoch: about three epochs
  for (const cut of [0, 1, 13, 14, 27, 39]) {
    const first = new BatchSampler(tokens, opts);
    take(first, cut);
    const saved: BatchSamplerState = JSON.parse(JSON.stringify(first.state()));
    const resumed = new BatchSampler(tokens, { ...opts, seed: 999, state: saved });
    assertEquals(resumed.epoch, first.epoch);
    assertEquals(take(resumed, 40 - cut), expected.slice(cut), `resume after ${cut} batches`);
  }
  assert(straight.epoch >= 2);
});

Deno.test("BatchSampler uses each block once per epoch (no target repeats)", () => {
  const T = 10, N = 1001;
  const s = new BatchSampler(iota(N), { batchSize: 1, contextLength: T, seed: 5 });
  for (let epoch = 0; epoch < 3; epoch++) {
    assertEquals(s.epoch, epoch);
    const blocks = s.blocksPerEpoch;
    assert(blocks === 100 || blocks === 99, `blocks ${blocks}`);
    const seen = new Set<number>();
    let phase = -1;
    for (let i = 0; i < blocks; i++) {
      const start = s.next().inputs[0];
      phase = start % T;
      assert(!seen.has(start), `block at ${start} repeated in epoch ${epoch}`);
      seen.add(start);
    }
    assertEquals(seen.size, blocks);
    for (const start of seen) assertEquals(start % T, phase, "blocks in one epoch share a phase");
  }
});

Deno.test("BatchSampler without random phase covers the same fixed blocks every epoch", () => {
  const s = new BatchSampler(iota(101), { batchSize: 10, contextLength: 10, seed: 0, randomPhase: false });
  const starts = (b: Batch) => Array.from({ length: 10 }, (_, i) => b.inputs[i * 10]).sort((x, y) => x - y);
  const expected = Array.from({ length: 10 }, (_, i) => i * 10);
  assertEquals(starts(s.next()), expected);
  assertEquals(starts(s.next()), expected);
});

Deno.test("BatchSampler works on a corpus of exactly T + 1 tokens", () => {
  const s = new BatchSampler(iota(9), { batchSize: 2, contextLength: 8 });
  const { inputs, targets } = s.next();
  assertEquals(Array.from(inputs), [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(Array.from(targets.slice(0, 8)), [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("BatchSampler names a corpus too small for the context length", () => {
  assertThrows(
    () => new BatchSampler(iota(100), { batchSize: 1, contextLength: 100 }),
    /^Corpus has 100 tokens, too few for context length 100: expected at least 101 \(context length \+ 1\)$/,
  );
});

Deno.test("BatchSampler rejects B and T that are not positive integers", () => {
  for (
    const [batchSize, contextLength, pattern] of [
      [0, 8, /^Batch size must be a positive integer, got 0$/],
      [2.5, 8, /^Batch size must be a positive integer, got 2\.5$/],
      [2, -1, /^Context length must be a positive integer, got -1$/],
      [2, NaN, /^Context length must be a positive integer, got NaN$/],
    ] as const
  ) {
    assertThrows(() => new BatchSampler(iota(100), { batchSize, contextLength }), pattern);
  }
});

Deno.test("BatchSampler rejects a state saved for other data", () => {
  const state = new BatchSampler(iota(100), { batchSize: 2, contextLength: 8 }).state();
  assertThrows(
    () => new BatchSampler(iota(200), { batchSize: 2, contextLength: 8, state }),
    /^Sampler state was saved for 100 tokens and context length 8, got 200 tokens and context length 8/,
  );
  assertThrows(
    () => new BatchSampler(iota(100), { batchSize: 2, contextLength: 8, state: { ...state, version: 2 as 1 } }),
    /^Sampler state version 2 is unsupported: expected 1$/,
  );
});
