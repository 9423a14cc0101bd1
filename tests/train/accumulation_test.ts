/**
 * Gradient accumulation (`updateFreq`, fairseq's --update-freq): k batches of B sequences per update train like one
 * batch of k·B — the same sequences, the mean gradient — to rounding (float64) and to float32 precision; tokens and
 * FLOPs count all k batches; a config at 1 leaves the key out, so older configs compare equal.
 */
import { assert, assertEquals, assertNormClose } from "../assert.ts";
import { createCpuBackend } from "../../lib/backend/cpu/mod.ts";
import { setBackend } from "../../lib/core/runtime.ts";
import { train } from "../../lib/train/loop.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import type { TrainRecord } from "../../lib/metrics/records.ts";
import { TINY_CONFIG } from "../reliability/_helpers.ts";

async function run(batchSize: number, updateFreq: number, float64: boolean) {
  const backend = createCpuBackend({ float64, threads: 1 });
  setBackend(backend);
  const config = resolveConfig([{ ...TINY_CONFIG, steps: 3, evalEvery: 0, batchSize, updateFreq }]);
  const records: TrainRecord[] = [];
  const r = await train({ config, runDir: null, onRecord: (rec) => rec.kind === "train" && records.push(rec) });
  const weights = await Promise.all(r.model.parameters().map((p) => p.toArray()));
  r.model.dispose();
  r.optimizer.dispose();
  return { records, weights };
}

function maxRelDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) {
      worst = Math.max(worst, Math.abs(x[j] - b[i][j]) / Math.max(1e-6, Math.abs(x[j])));
    }
  });
  return worst;
}

Deno.test("updateFreq 2 × batchSize 4 trains like batchSize 8: float64 to float32 readback, float32 closely", async () => {
  for (const float64 of [true, false]) {
    const big = await run(8, 1, float64), acc = await run(4, 2, float64);
    assertEquals(
      acc.records.map((r) => [r.step, r.tokens, r.flops]),
      big.records.map((r) => [r.step, r.tokens, r.flops]),
    );
    assertEquals(acc.records.map((r) => r.tokens), [256, 512, 768]); // 2 × 4 × 32 per update
    // Values come back as float32 (toArray), so float64's agreement shows at float32's rounding, ~6e-8.
    const tol = float64 ? 3e-7 : 2e-5;
    const lossDiff = maxRelDiff([acc.records.map((r) => r.loss)], [big.records.map((r) => r.loss)]);
    assert.ok(lossDiff < tol, `loss differs by ${lossDiff} (float64 ${float64})`);
    const normDiff = maxRelDiff([acc.records.map((r) => r.gradNorm)], [big.records.map((r) => r.gradNorm)]);
    assert.ok(normDiff < tol, `grad norm differs by ${normDiff} (float64 ${float64})`);
    if (float64) {
      const wDiff = maxRelDiff(acc.weights, big.weights);
      assert.ok(wDiff < 3e-7, `weights differ by ${wDiff} (float64)`);
    } else {
      // Per tensor, norm-relative: Adam turns float32 rounding noise in a near-zero gradient into a full-size step
      // (m/√v ≈ ±1), so one weight's relative difference measures that noise, not the accumulation (measured: up
      // to 1.6e-3 elementwise, 7.7e-5 per tensor with the SIMD kernels; 3.5e-4 and 3.9e-5 with the TypeScript ones).
      acc.weights.forEach((w, i) => assertNormClose(w, big.weights[i], 3e-4, `weights of parameter ${i}`));
    }
  }
});

Deno.test("updateFreq 1 is the default and is left out of the resolved config; 0 and 1.5 are refused", () => {
  assertEquals("updateFreq" in resolveConfig([{ updateFreq: 1 }]), false);
  assertEquals(resolveConfig([{ updateFreq: "4" }]).updateFreq, 4);
  assert.throws(() => resolveConfig([{ updateFreq: 0 }]), /Invalid updateFreq 0: expected an integer ≥ 1/);
  assert.throws(() => resolveConfig([{ updateFreq: 1.5 }]), /Invalid updateFreq 1.5/);
});
