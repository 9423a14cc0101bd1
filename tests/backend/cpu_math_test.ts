/** The CPU backend's float32-accuracy special functions against Math.exp and the float64 oracle's erf and GELU. */
import { assertClose } from "../assert.ts";
import { erf, gelu, geluBackward } from "../../lib/backend/cpu/math.ts";
import { erfFast, expFast, geluBackwardFast, geluFast } from "../../lib/backend/cpu/fast_math.ts";

const grid = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));

Deno.test("expFast: relative error < 1e-9 over float32's normal range, exact edges", () => {
  const xs = [...grid(-87, 88.7, 200_001), -1e-9, 0, 1e-9, -0.5 * Math.LN2 / 64, 0.5 * Math.LN2 / 64];
  let worst = 0, at = 0;
  for (const x of xs) {
    const rel = Math.abs(expFast(x) / Math.exp(x) - 1);
    if (rel > worst) [worst, at] = [rel, x];
  }
  if (worst > 1e-9) throw new Error(`expFast relative error ${worst} at x = ${at}, expected < 1e-9`);
  assertClose(
    [-Infinity, -1e5, -104.5, 89, Infinity, NaN].map(expFast),
    [0, 0, 0, Math.exp(89), Infinity, NaN],
    0,
    0,
  );
  // Subnormal float32 results stay within float32's own rounding there.
  assertClose(
    grid(-103, -88, 301).map((x) => Math.fround(expFast(x))),
    grid(-103, -88, 301).map(Math.exp),
    1e-6,
    2e-45,
  );
});

Deno.test("erfFast, geluFast, geluBackwardFast match the float64 oracle to float32 accuracy", () => {
  const xs = [...grid(-10, 10, 20_001), -0.5, 0.5, 1e-8];
  assertClose(xs.map(erfFast), xs.map(erf), 2e-7, 1e-30, "erf");
  assertClose(xs.map(geluFast), xs.map(gelu), 0, 1e-8, "gelu");
  const dy = xs.map((_, i) => Math.sin(i) * 3);
  assertClose(xs.map((x, i) => geluBackwardFast(x, dy[i])), xs.map((x, i) => geluBackward(x, dy[i])), 0, 3e-8);
  for (const [x, want] of [[Infinity, Infinity], [-Infinity, NaN], [NaN, NaN]]) {
    assertClose([geluFast(x)], [want], 0, 0, `gelu(${x})`);
    assertClose([geluBackwardFast(x, 1)], [NaN], 0, 0, `geluBackward(${x})`);
    assertClose([geluBackward(x, 1)], [NaN], 0, 0, `exact geluBackward(${x})`);
  }
});
