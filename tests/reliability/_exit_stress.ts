/**
 * Exit-time stress (issue 14, item 5): in one process, create CPU backends with worker threads many times, run
 * kernels big enough to be split across the workers (and the BLAS matmul), train a few steps, then exit at once.
 * Run it many times (`exit_stress_test.ts` does): a heap corruption at exit shows as a non-zero status or glibc's
 * "corrupted …" / "double free" on stderr.
 * @module
 */
import { createBackend } from "../../lib/backend/select.ts";
import { setBackend } from "../../lib/core/runtime.ts";
import { randn } from "../../lib/core/create.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { train } from "../../lib/train/loop.ts";

const rounds = Number(Deno.args[0] ?? 20);
for (let i = 0; i < rounds; i++) {
  const backend = await createBackend({ backend: "cpu" });
  setBackend(backend);
  const a = randn([256, 256]), b = randn([256, 256]);
  const c = a.matmul(b).gelu().add(a).softmax();
  await c.toArray();
  for (const t of [a, b, c]) t.dispose();
}
const config = resolveConfig([{
  corpus: "fixture",
  layers: 1,
  dModel: 64,
  dFF: 256,
  contextLength: 64,
  batchSize: 8,
  steps: 3,
  warmup: 1,
  evalEvery: 0,
}]);
const run = await train({ config });
run.model.dispose();
console.log("done");
