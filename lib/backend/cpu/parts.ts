/**
 * The CPU kernels that split across threads, each as a part: a range [lo, hi) of independent units (elements,
 * rows or outermost indices) run on views of the same arrays, so the main thread and the workers of
 * `threads.ts` run the same code on disjoint output ranges, and every element comes out as the one-thread kernel
 * computes it. The one exception is LayerNorm's dg/db, a sum over rows: each part accumulates its rows into its
 * own float64 slice of `scratch`, which the caller adds up in part order. simd/ops.ts gives most of these ops a
 * SIMD kernel over the same units.
 * @module
 */
import type { OpAttrs } from "../backend.ts";
import { affine, type Arr, binary, strided, unary } from "./elementwise.ts";
import {
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  reduce,
  softmax,
  softmaxBackward,
} from "./reduce.ts";
import { adamw, dropout } from "./misc.ts";

/** How an op splits: its unit count, the multiple that split points keep to, and the elements per unit. */
export interface Split {
  units: number;
  align: number;
  perUnit: number;
}

/** One splittable kernel: `split` describes the work, `run` does units [lo, hi); part `k` of a call owns scratch slice k. */
export interface Part<A> {
  split(attrs: A, outs: Arr[]): Split;
  run(lo: number, hi: number, attrs: A, outs: Arr[], ins: Arr[], exact: boolean, scratch: Float64Array | null): void;
  /** Float64 scratch per part (LayerNorm's dg/db partial sums). */
  scratch?(attrs: A): number;
  /** Fold the n parts' scratch slices (`per` each) into the outputs, in part order. */
  combine?(scratch: Float64Array, per: number, n: number, outs: Arr[]): void;
}

const rows = (r: number, cols: number, align = 1): Split => ({ units: r, align, perUnit: cols });
const view = (a: Arr, lo: number, hi: number) => a.subarray(lo, hi);

/** Ops with a part, keyed like the backend's op names. */
export const PARTS: { [K in keyof OpAttrs]?: Part<OpAttrs[K]> } = {
  // Split the outer axis when there are several, else the columns (a bias gradient sums all rows per column).
  reduce: {
    split: (a) => (a.outer > 1 ? rows(a.outer, a.size * a.inner) : rows(a.inner, a.size)),
    run: (lo, hi, a, [y], [x]) => {
      if (a.outer === 1) return reduce(a.fn, 1, a.size, a.inner, x, y, lo, hi);
      const per = a.size * a.inner;
      reduce(a.fn, hi - lo, a.size, a.inner, view(x, lo * per, hi * per), view(y, lo * a.inner, hi * a.inner));
    },
  },
  unary: {
    split: (_a, [y]) => rows(y.length, 1),
    run: (lo, hi, a, [y], [x], exact) => unary(a.fn, view(x, lo, hi), view(y, lo, hi), exact),
  },
  affine: {
    split: (_a, [y]) => rows(y.length, 1),
    run: (lo, hi, a, [y], [x]) => affine(a.scale, a.bias, view(x, lo, hi), view(y, lo, hi)),
  },
  // Split along the outermost axis: part [lo, hi) reads an operand from lo·stride[0] on (to its end unless the
  // operand is this part's own contiguous block, which keeps binary's same-shape fast path).
  binary: {
    split: (a, [y]) => rows(a.shape[0] ?? 1, y.length / Math.max(a.shape[0] ?? 1, 1)),
    run: (lo, hi, a, [y], [xa, xb], exact) => {
      if (a.shape.length === 0) return binary(a.fn, a.shape, a.aStrides, a.bStrides, xa, xb, y, exact);
      const inner = y.length / a.shape[0], shape = [hi - lo, ...a.shape.slice(1)];
      const part = (x: Arr, s: number) => (s === 0 ? x : x.subarray(lo * s, s === inner ? hi * inner : undefined));
      const ya = part(xa, a.aStrides[0]), yb = part(xb, a.bStrides[0]);
      binary(a.fn, shape, a.aStrides, a.bStrides, ya, yb, view(y, lo * inner, hi * inner), exact);
    },
  },
  strided: {
    split: (a, [y]) => rows(a.shape[0] ?? 1, y.length / Math.max(a.shape[0] ?? 1, 1)),
    run: (lo, hi, a, [y], [x]) => {
      if (a.shape.length === 0) return strided(a.shape, a.strides, a.offset, x, y);
      const inner = y.length / a.shape[0];
      strided(
        [hi - lo, ...a.shape.slice(1)],
        a.strides,
        a.offset + lo * a.strides[0],
        x,
        view(y, lo * inner, hi * inner),
      );
    },
  },
  softmax: {
    split: (a) => rows(a.rows, a.cols, a.causalTq || 1),
    run: (lo, hi, a, [y], [x], exact) =>
      softmax(
        hi - lo,
        a.cols,
        a.causalTq ?? 0,
        view(x, lo * a.cols, hi * a.cols),
        view(y, lo * a.cols, hi * a.cols),
        exact,
      ),
  },
  softmaxBackward: {
    split: (a) => rows(a.rows, a.cols),
    run: (lo, hi, a, [dx], [y, dy]) => {
      const [s, e] = [lo * a.cols, hi * a.cols];
      softmaxBackward(hi - lo, a.cols, view(y, s, e), view(dy, s, e), view(dx, s, e));
    },
  },
  layerNorm: {
    split: (a) => rows(a.rows, a.cols),
    run: (lo, hi, a, [y, m, r], [x, g, b]) => {
      const [s, e] = [lo * a.cols, hi * a.cols];
      layerNorm(hi - lo, a.cols, a.eps, view(x, s, e), g, b, view(y, s, e), view(m, lo, hi), view(r, lo, hi));
    },
  },
  layerNormBackward: {
    split: (a) => rows(a.rows, a.cols),
    // dg and db partial sums in float64 (2C), and room for the SIMD kernel's float32 partials (2C floats).
    scratch: (a) => 3 * a.cols,
    combine: (scratch, per, n, [_dx, dg, db]) => {
      const cols = dg.length, sum = new Float64Array(2 * cols);
      for (let k = 0; k < n; k++) for (let i = 0; i < 2 * cols; i++) sum[i] += scratch[k * per + i];
      dg.set(sum.subarray(0, cols));
      db.set(sum.subarray(cols));
    },
    run: (lo, hi, a, [dx], [dy, x, g, m, r], _exact, scratch) => {
      const [s, e] = [lo * a.cols, hi * a.cols];
      const accG = scratch!.subarray(0, a.cols).fill(0), accB = scratch!.subarray(a.cols, 2 * a.cols).fill(0);
      layerNormBackward(
        hi - lo,
        a.cols,
        view(dy, s, e),
        view(x, s, e),
        g,
        view(m, lo, hi),
        view(r, lo, hi),
        view(dx, s, e),
        accG,
        accB,
      );
    },
  },
  crossEntropy: {
    split: (a) => rows(a.rows, a.cols),
    run: (lo, hi, a, [loss, lse], [x, t], exact) =>
      crossEntropy(
        hi - lo,
        a.cols,
        view(x, lo * a.cols, hi * a.cols),
        view(t, lo, hi),
        view(loss, lo, hi),
        view(lse, lo, hi),
        exact,
      ),
  },
  crossEntropyBackward: {
    split: (a) => rows(a.rows, a.cols),
    run: (lo, hi, a, [dx], [x, t, lse, dl], exact) => {
      const [s, e] = [lo * a.cols, hi * a.cols];
      crossEntropyBackward(
        hi - lo,
        a.cols,
        view(x, s, e),
        view(t, lo, hi),
        view(lse, lo, hi),
        view(dl, lo, hi),
        view(dx, s, e),
        exact,
      );
    },
  },
  // Each element's mask bit hashes its index in the whole tensor, so a part passes its offset.
  dropout: {
    split: (_a, [y]) => rows(y.length, 1),
    run: (lo, hi, a, [y], [x], exact) => dropout(a.p, a.seed, view(x, lo, hi), view(y, lo, hi), exact, lo),
  },
  adamw: {
    split: (_a, [p]) => rows(p.length, 1),
    run: (lo, hi, a, [p, m, v], [_p, _m, _v, g]) =>
      adamw(a, view(p, lo, hi), view(m, lo, hi), view(v, lo, hi), view(g, lo, hi)),
  },
};
