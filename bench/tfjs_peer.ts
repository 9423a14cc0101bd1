/**
 * TensorFlow.js as an in-process peer for the matmul and ops groups: `tfjs-cpu` (plain JavaScript), `tfjs-wasm`
 * (XNNPACK, SIMD, one thread: its threaded build does not start in Deno) and `tfjs-webgpu` (Deno's built-in
 * `navigator.gpu`, the adapter our WebGPU backend uses). Versions are pinned below.
 *
 * The packages are imported through computed specifiers, so `deno check` and the tests never download them;
 * the first bench run fetches them from npm. tfjs has one global engine: each runner selects its backend at the
 * start of every rep, and its inputs live on that backend, so no data moves between backends while timed.
 * Each rep ends by reading the last result (`data()`; one element of it in the ops rows), which waits for queued
 * device work.
 *
 * Legend: M N K matmul dims, R rows, C columns, T time.
 * @module
 */
import type { Runner } from "./harness.ts";

/** Pinned TensorFlow.js version (the union package `@tensorflow/tfjs` and the wasm and webgpu backends). */
export const TFJS_VERSION = "4.22.0";
/** The tfjs columns, in table order. */
export const TFJS_COLUMNS = ["tfjs-cpu", "tfjs-wasm", "tfjs-webgpu"] as const;
/** A tfjs column. */
export type TfjsColumn = typeof TFJS_COLUMNS[number];

const PKG = (name: string) => `npm:@tensorflow/${name}@${TFJS_VERSION}`;
const BACKEND: Record<TfjsColumn, string> = { "tfjs-cpu": "cpu", "tfjs-wasm": "wasm", "tfjs-webgpu": "webgpu" };

/** tfjs's module namespace (untyped: the types would make `deno check` download the packages). */
type Tf = any;
type T = any;

let loaded: Promise<Tf | string> | undefined;

/** Imports tfjs (core, cpu backend, gradients) and the wasm and webgpu backends once; a string is why not. */
function loadTf(): Promise<Tf | string> {
  return loaded ??= (async () => {
    try {
      // The union package, not tfjs-core alone: only its bundle registers the gradients (tf.grad) and chained ops.
      const tf = await import(PKG("tfjs"));
      const wasm = await import(PKG("tfjs-backend-wasm"));
      await import(PKG("tfjs-backend-webgpu"));
      // The .wasm binaries ship in the package, next to its entry point.
      wasm.setWasmPaths(new URL(".", import.meta.resolve(PKG("tfjs-backend-wasm"))).pathname);
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      tf.enableProdMode(); // no per-op NaN checks or deprecation warnings
      return tf;
    } catch (e) {
      return `cannot load TensorFlow.js ${TFJS_VERSION} from npm: ${reason(e)}`;
    }
  })();
}

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim().slice(0, 200);
}

/** Deterministic values in [-0.5, 0.5), the same formula as the other columns. */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = ((Math.imul(i, 2654435761) + seed) >>> 0) % 1000 / 1000 - 0.5;
  return out;
}

/** One tfjs backend, opened and checked; cases build runners on it. */
export class TfjsPeer {
  private constructor(readonly column: TfjsColumn, private tf: Tf) {}

  /** Loads tfjs and starts `column`'s backend; a string is why it cannot start. */
  static async open(column: TfjsColumn): Promise<TfjsPeer | string> {
    const tf = await loadTf();
    if (typeof tf === "string") return tf;
    try {
      if (!(await tf.setBackend(BACKEND[column]))) return `tf.setBackend("${BACKEND[column]}") returned false`;
      await tf.ready();
      const probe = tf.matMul(tf.ones([4, 4]), tf.ones([4, 4]));
      const got = (await probe.data())[0];
      tf.dispose(probe);
      if (got !== 4) return `a 4×4 product of ones gave ${got}`;
      return new TfjsPeer(column, tf);
    } catch (e) {
      return `${column} failed to start: ${reason(e)}`;
    }
  }

  /** The engine's description of this backend (threads, adapter) for the notes. */
  describe(): string {
    if (this.column === "tfjs-wasm") return `tfjs-wasm ${TFJS_VERSION}: XNNPACK, 1 thread`;
    return `${this.column} ${TFJS_VERSION}`;
  }

  /**
   * A runner whose every iteration calls `step()` (inside a tidy) and whose rep reads the last result: all of it
   * (`readAll`, as our matmul rows read c), or one element through a slice (as our ops rows read a one-element
   * buffer after a fill), so both sides of a row pay the same readback.
   */
  #runner(inputs: T[], step: () => T | T[], readAll: boolean): Runner & { free(): void } {
    const tf = this.tf, be = BACKEND[this.column];
    return {
      name: this.column,
      run: async (iters) => {
        await tf.setBackend(be);
        const t = performance.now();
        for (let i = 0; i < iters; i++) {
          const out = tf.tidy(step);
          const last = Array.isArray(out) ? out[0] : out;
          if (i === iters - 1) {
            const read = readAll ? last : tf.tidy(() => tf.slice(tf.reshape(last, [-1]), [0], [1]));
            await read.data();
            if (read !== last) tf.dispose(read);
          }
          tf.dispose(out);
        }
        return performance.now() - t;
      },
      free: () => tf.dispose(inputs),
    };
  }

  /** Makes `column`'s backend current and creates tensors on it. */
  async #tensors(make: (tf: Tf) => T[]): Promise<T[]> {
    await this.tf.setBackend(BACKEND[this.column]);
    return make(this.tf);
  }

  /** C (M, N) = A (M, K) · B (K, N). */
  async matmul(m: number, n: number, k: number): Promise<Runner & { free(): void }> {
    const [a, b] = await this.#tensors((tf) => [
      tf.tensor2d(values(m * k, 1), [m, k]),
      tf.tensor2d(values(k * n, 2), [k, n]),
    ]);
    return this.#runner([a, b], () => this.tf.matMul(a, b), true);
  }

  /** LayerNorm over the last axis from tf ops (moments, rsqrt), forward + backward (dx, dg, db). */
  async layerNorm(rows: number, cols: number): Promise<Runner & { free(): void }> {
    const tf = this.tf;
    const ins = await this.#tensors((tf) => [
      tf.tensor2d(values(rows * cols, 1), [rows, cols]),
      tf.ones([cols]),
      tf.zeros([cols]),
      tf.tensor2d(values(rows * cols, 2), [rows, cols]),
    ]);
    const ln = (x: T, g: T, b: T) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
    };
    const grads = tf.grads(ln);
    return this.#runner(ins, () => grads(ins.slice(0, 3), ins[3]), false);
  }

  /** Causal mask (−∞ added above the diagonal) then softmax over scores (R, T, T), forward + backward. */
  async attentionSoftmax(rows: number, t: number): Promise<Runner & { free(): void }> {
    const tf = this.tf;
    const bias = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) bias[i * t + j] = -Infinity;
    const ins = await this.#tensors((tf) => [
      tf.tensor3d(values(rows * t * t, 1), [rows, t, t]),
      tf.tensor2d(bias, [t, t]),
      tf.tensor3d(values(rows * t * t, 2), [rows, t, t]),
    ]);
    const grad = tf.grad((s: T) => tf.softmax(tf.add(s, ins[1])));
    return this.#runner(ins, () => grad(ins[0], ins[2]), false);
  }
}
