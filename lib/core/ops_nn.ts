/**
 * Neural-network primitives: batched matmul, embedding gather, causal mask, and the fused softmax, LayerNorm,
 * cross-entropy and dropout. Their composite references live in `reference.ts`.
 * Legend: B batch dims, M/N/K matmul dims, R rows, C columns, V vocabulary.
 * @module
 */
import { fmtShape, numel, run, type Tensor } from "./tensor.ts";
import { expectF32 } from "./ops_elementwise.ts";
import { expand, reshape } from "./ops_shape.ts";
import { mean, sumTo } from "./ops_reduce.ts";
import { getRng } from "./runtime.ts";

/** Transposes applied to the last two axes of each operand. */
export interface MatmulOptions {
  /** Use aᵀ (swap a's last two axes). Default false. */
  transA?: boolean;
  /** Use bᵀ (swap b's last two axes), e.g. for x·Wᵀ with W (out, in). Default false. */
  transB?: boolean;
}

/** (..., M, K)·(..., K, N) → (..., M, N); batch dims broadcast; a rank-2 operand is shared across the batch. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false } = opts;
  const bad = () =>
    new Error(
      `Cannot matmul shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}${
        transA || transB ? ` (transA ${transA}, transB ${transB})` : ""
      }`,
    );
  if (a.rank < 2 || b.rank < 2 || a.dtype !== "f32" || b.dtype !== "f32") {
    if (a.rank >= 2 && b.rank >= 2) expectF32(a.dtype !== "f32" ? a : b, "matmul");
    throw bad();
  }
  const [m, k] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (k !== kb) throw bad();
  // A Linear layer: fold a's batch into M so the whole product is one GEMM (and so is its weight gradient).
  if (b.rank === 2 && a.rank > 2 && !transA) {
    const y2 = matmul(reshape(a, [-1, k]), b, opts); // (M, N); its storage lives on in the view
    const y = reshape(y2, [...a.shape.slice(0, -1), n]);
    y2.dispose();
    return y;
  }
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = broadcast(aBatch, bBatch);
  } catch {
    throw bad();
  }
  const batch = numel(batchShape);
  const fit = (t: Tensor, tb: readonly number[]) =>
    numel(tb) === 1 || tb.length === batchShape.length && tb.every((s, i) => s === batchShape[i])
      ? t
      : expand(t, [...batchShape, ...t.shape.slice(-2)]);
  const a2 = fit(a, aBatch), b2 = fit(b, bBatch);
  const attrs = {
    batch,
    m,
    n,
    k,
    transA,
    transB,
    aBatchStride: numel(a2.shape.slice(0, -2)) === 1 ? 0 : m * k,
    bBatchStride: numel(b2.shape.slice(0, -2)) === 1 ? 0 : k * n,
  };
  const y = run(a.backend, "matmul", [[...batchShape, m, n]], [a2, b2], attrs, "matmul")[0];
  return y.attach("matmul", [a, b], (g, [na, nb]) => {
    const da = !na ? null : transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
    const db = !nb ? null : transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
    return [da && sumTo(da, a.shape), db && sumTo(db, b.shape)];
  });
}

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error("broadcast");
    return x === 1 ? y : x;
  });
}

/** Rows of `table` (V, C) picked by i32 `ids` (any shape) → (...ids.shape, C); backward scatter-adds. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (ids.dtype !== "i32") throw new Error(`Cannot index an embedding with dtype ${ids.dtype}: expected i32 ids`);
  if (table.rank !== 2) {
    throw new Error(`Cannot use shape ${fmtShape(table.shape)} as an embedding table: expected (V, C)`);
  }
  const [vocab, cols] = table.shape, rows = ids.size;
  const y = run(table.backend, "gather", [[...ids.shape, cols]], [table, ids], { rows, cols, vocab }, "embedding")[0];
  return y.attach("embedding", [table, ids], (g) => [
    run(g.backend, "scatterAdd", [[vocab, cols]], [g, ids], { rows, cols, vocab }, "embedding backward")[0],
    null,
  ]);
}

/** x (..., Tq, Tk) with entries j > i + (Tk − Tq) set to `value` (−∞ for attention scores). */
export function causalMask(x: Tensor, value = -Infinity): Tensor {
  expectF32(x, "causalMask");
  if (x.rank < 2) throw new Error(`Cannot causal-mask shape ${fmtShape(x.shape)}: expected (..., Tq, Tk)`);
  const [tq, tk] = x.shape.slice(-2);
  const rows = numel(x.shape.slice(0, -2));
  const y = run(x.backend, "causalMask", [x.shape], [x], { rows, tq, tk, value }, "causalMask")[0];
  return y.attach("causalMask", [x], (g) => [
    run(g.backend, "causalMask", [g.shape], [g], { rows, tq, tk, value: 0 }, "causalMask backward")[0],
  ]);
}

/** Numerically stable softmax over the last axis (fused kernel). */
export function softmax(x: Tensor): Tensor {
  return softmaxRows(x, undefined, "softmax");
}

/**
 * softmax(causalMask(x)) in one fused kernel: x (..., Tq, Tk), query i sees keys j ≤ i + (Tk − Tq); masked
 * probabilities are exactly 0 and get no gradient.
 */
export function causalSoftmax(x: Tensor): Tensor {
  if (x.rank < 2) throw new Error(`Cannot causal-softmax shape ${fmtShape(x.shape)}: expected (..., Tq, Tk)`);
  return softmaxRows(x, x.shape[x.rank - 2], "causalSoftmax");
}

function softmaxRows(x: Tensor, causalTq: number | undefined, name: string): Tensor {
  expectF32(x, name);
  const cols = x.shape[x.rank - 1] ?? 1, rows = x.size / Math.max(cols, 1);
  const y = run(x.backend, "softmax", [x.shape], [x], { rows, cols, causalTq }, name)[0];
  return y.attach(
    name,
    [x],
    (g) => [run(g.backend, "softmaxBackward", [x.shape], [y, g], { rows, cols }, `${name} backward`)[0]],
  );
}

/** LayerNorm over the last axis, g ⊙ (x − mean)/√(var + eps) + b, biased variance (fused; saves mean, rstd). */
export function layerNorm(x: Tensor, g: Tensor, b: Tensor, eps = 1e-5): Tensor {
  expectF32(x, "layerNorm");
  const cols = x.shape[x.rank - 1];
  if (g.size !== cols || b.size !== cols) {
    throw new Error(
      `Cannot layerNorm shape ${fmtShape(x.shape)} with gain ${fmtShape(g.shape)} and bias ${fmtShape(b.shape)}`,
    );
  }
  const rows = x.size / cols;
  const [y, m, s] = run(x.backend, "layerNorm", [x.shape, [rows], [rows]], [x, g, b], { rows, cols, eps }, "layerNorm");
  return y.attach(
    "layerNorm",
    [x, g, b],
    (dy) =>
      run(
        dy.backend,
        "layerNormBackward",
        [x.shape, g.shape, b.shape],
        [dy, x, g, m, s],
        { rows, cols },
        "layerNorm backward",
      ),
  );
}

/** Mean cross-entropy of logits (..., V) against i32 targets (...) (fused log-softmax + NLL). */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  expectF32(logits, "crossEntropy");
  const cols = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (targets.dtype !== "i32" || targets.rank !== lead.length || targets.shape.some((s, i) => s !== lead[i])) {
    throw new Error(
      `Cannot take crossEntropy of logits ${fmtShape(logits.shape)} with ${targets.dtype} targets ${
        fmtShape(targets.shape)
      }: expected i32 targets ${fmtShape(lead)}`,
    );
  }
  const rows = targets.size;
  const [loss, lse] = run(
    logits.backend,
    "crossEntropy",
    [[rows], [rows]],
    [logits, targets],
    { rows, cols },
    "crossEntropy",
  );
  loss.attach("crossEntropy", [logits], (dLoss) => [
    run(
      dLoss.backend,
      "crossEntropyBackward",
      [logits.shape],
      [logits, targets, lse, dLoss],
      { rows, cols },
      "crossEntropy backward",
    )[0],
  ]);
  return mean(loss);
}

/**
 * Inverted dropout with probability p, its mask drawn from the seeded generator; identity when not training.
 * Only the draw's seed is kept for backward (the mask is a hash of it and the element index, dy gets the same
 * one), where PyTorch keeps a byte per element.
 */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`Cannot use dropout probability ${p}: expected 0 ≤ p < 1`);
  if (!training || p === 0) return x;
  expectF32(x, "dropout");
  const attrs = { p, seed: getRng().nextU32() };
  const drop = (t: Tensor, name: string) => run(t.backend, "dropout", [t.shape], [t], attrs, name)[0];
  return drop(x, "dropout").attach("dropout", [x], (g) => [drop(g, "dropout backward")]);
}
