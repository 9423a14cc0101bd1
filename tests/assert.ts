/**
 * The assertions every test uses: node:assert (JSR's @std/assert is unreachable here), plus array closeness
 * helpers. Swapping to @std/assert means editing this file only.
 * @module
 */
import assert from "node:assert/strict";

export { assert };
/** Deep strict equality. */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (message === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, message);
}
/** Assert `fn` throws an Error whose message matches `pattern`. */
export function assertThrows(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && pattern.test(e.message));
}
/** Assert an async `fn` rejects with an Error whose message matches `pattern`. */
export async function assertRejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => e instanceof Error && pattern.test(e.message));
}

type Num = ArrayLike<number>;

/**
 * Assert |a − e| ≤ atol + rtol·|e| elementwise, NaN matching NaN and ±∞ matching exactly; the message names the
 * worst index.
 */
export function assertClose(actual: Num, expected: Num, rtol = 1e-5, atol = 1e-6, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: ${a}, expected ${e}`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ${a}, expected ${e}`);
  }
}

/**
 * Assert ‖a − e‖₂ ≤ tol·‖e‖₂ + atol, the norm-relative check for matmuls, reductions and gradients. `atol` covers
 * gradients that are zero in exact arithmetic (a key bias under softmax) and hold only rounding noise.
 */
export function assertNormClose(actual: Num, expected: Num, tol = 1e-4, what = "values", atol = 1e-12): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs expected ${expected.length}`);
  let d = 0, n = 0;
  for (let i = 0; i < actual.length; i++) {
    d += (actual[i] - expected[i]) ** 2;
    n += expected[i] ** 2;
  }
  assert.ok(Math.sqrt(d) <= tol * Math.sqrt(n) + atol, `${what}: relative error ${Math.sqrt(d / (n || 1))} > ${tol}`);
}
