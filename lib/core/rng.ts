/**
 * The one seeded generator every random draw goes through (parameter init, dropout seeds, batch sampling), so a
 * run is reproducible from its seed and resumable from `state()`. xoshiro128** over four u32 words, seeded by
 * splitmix32; normals by Box–Muller.
 * @module
 */

/** Serializable generator state: four u32 words. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A seeded xoshiro128** generator.
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(1);
 * const u = rng.uniform(); // in [0, 1)
 * const again = Rng.fromState(rng.state());
 * ```
 */
export class Rng {
  #s: Uint32Array = new Uint32Array(4);

  /** Seed from any integer (its low 32 bits). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Cannot seed a generator with ${seed}: expected a finite integer`);
    const next = splitmix32(seed);
    for (let i = 0; i < 4; i++) this.#s[i] = next();
  }

  /** Restore a generator saved with `state()`. */
  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0)) {
      throw new Error(`Cannot restore a generator from ${JSON.stringify(state)}: expected four u32 words`);
    }
    const rng = new Rng(0);
    rng.#s.set(state);
    return rng;
  }

  /** The current state, to save in a checkpoint. */
  state(): RngState {
    const s = this.#s;
    return [s[0], s[1], s[2], s[3]];
  }

  /** Next u32. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Cannot draw an integer below ${n}: expected n ≥ 1`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by Box–Muller (one draw per call, two uniforms each, so the state advances predictably). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
