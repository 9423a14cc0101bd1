/** estimateMemory and memoryRefusal: the start-up memory check of `train` (issue 13, item 5). */
import { assert, assertEquals } from "../assert.ts";
import { estimateMemory, memoryRefusal } from "../../lib/train/memory.ts";
import { resolveConfig } from "../../lib/train/config.ts";

const GiB = 2 ** 30;

Deno.test("estimateMemory: parameters and optimizer from the parameter count, activations grow with B·T", () => {
  const small = resolveConfig([{ preset: "small" }]);
  const m = estimateMemory(small);
  assertEquals(m.parameters, m.optimizer); // weights + gradients, two moments: 8 bytes per parameter each
  const twice = estimateMemory(resolveConfig([{ preset: "small", batchSize: 32 }]));
  assertEquals(twice.activations, 2 * m.activations);
  assertEquals(twice.parameters, m.parameters);
  // updateFreq keeps the memory of one batch.
  assertEquals(estimateMemory(resolveConfig([{ preset: "small", updateFreq: 8 }])).total, m.total);
  // Calibration: `deno task train --preset=small` (batchSize 16) peaked at 415 MiB here; the estimate stays within 25%.
  assert.ok(Math.abs(m.total / (415 * 2 ** 20) - 1) < 0.25, `${m.total}`);
});

Deno.test("memoryRefusal: null when it fits; else one line naming the keys, with a batchSize × updateFreq that fits", () => {
  assertEquals(memoryRefusal(resolveConfig([{ preset: "tiny" }]), 8 * GiB), null);
  const paper = resolveConfig([{ preset: "paper125m" }]);
  const msg = memoryRefusal(paper, 24 * GiB)!;
  const m = msg.match(/--batchSize=(\d+) --updateFreq=(\d+) \(the same 256 sequences per update\)/);
  assert.ok(m, msg);
  assertEquals(Number(m[1]) * Number(m[2]), 256);
  assert.ok(!msg.includes("\n"));
  // The suggestion fits.
  const suggested = resolveConfig([{ preset: "paper125m", batchSize: Number(m[1]), updateFreq: Number(m[2]) }]);
  assertEquals(memoryRefusal(suggested, 24 * GiB), null);
  // A model whose single sequence does not fit says so.
  const huge = resolveConfig([{ contextLength: 100000, evalTokens: 100000 }]);
  assert.match(memoryRefusal(huge, 24 * GiB)!, /does not fit even at batchSize 1; lower contextLength/);
});
