import { assertEquals, assertThrows } from "../assert.ts";
import { ValidationSet } from "../../lib/data/validation.ts";
import { iota } from "./_helpers.ts";

Deno.test("ValidationSet yields non-overlapping blocks in order, the last batch partial", () => {
  const valid = new ValidationSet(iota(105), { batchSize: 4, contextLength: 10 });
  assertEquals([valid.blocks, valid.batches, valid.targetTokens], [10, 3, 100]);
  const batches = [...valid];
  assertEquals(batches.map((b) => b.batchSize), [4, 4, 2]);
  const starts = batches.flatMap((b) => Array.from({ length: b.batchSize }, (_, i) => b.inputs[i * 10]));
  assertEquals(starts, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  for (const b of batches) for (let i = 0; i < b.inputs.length; i++) assertEquals(b.targets[i], b.inputs[i] + 1);
});

Deno.test("ValidationSet is the same every time it is iterated", () => {
  const valid = new ValidationSet(iota(1000), { batchSize: 3, contextLength: 7 });
  assertEquals([...valid], [...valid]);
});

Deno.test("ValidationSet honours maxTokens in whole blocks", () => {
  const valid = new ValidationSet(iota(1000), { batchSize: 4, contextLength: 10, maxTokens: 95 });
  assertEquals([valid.blocks, valid.targetTokens], [9, 90]);
  assertEquals(new ValidationSet(iota(50), { batchSize: 4, contextLength: 10, maxTokens: 1e9 }).blocks, 4);
});

Deno.test("ValidationSet names bad sizes", () => {
  assertThrows(
    () => new ValidationSet(iota(10), { batchSize: 1, contextLength: 10 }),
    /^Validation data has 10 tokens, too few for context length 10: expected at least 11/,
  );
  assertThrows(
    () => new ValidationSet(iota(100), { batchSize: 1, contextLength: 10, maxTokens: 5 }),
    /^Max tokens 5 is below context length 10: expected at least one block$/,
  );
  assertThrows(() => new ValidationSet(iota(100), { batchSize: 0, contextLength: 10 }), /^Batch size must be/);
});
