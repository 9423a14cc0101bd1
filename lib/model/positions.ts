/**
 * fairseq's sinusoidal positions (NORMFORMER.md a.1): half = C/2, ω_i = exp(−i·ln(10000)/(half−1)), row p is
 * [sin(p·ω), cos(p·ω)] (halves concatenated, not interleaved). fairseq numbers positions from padding_idx + 1 = 2,
 * so token t (0-based) gets row p = t + 2; we keep that offset for exact parity with fairseq checkpoints.
 * @module
 */

/** fairseq's first position index (padding_idx + 1 with pad = 1). */
export const POSITION_OFFSET = 2;

/** The (T, C) table for tokens 0..T−1. */
export function sinusoidalPositions(t: number, c: number): Float32Array {
  const half = c / 2;
  const out = new Float32Array(t * c);
  const step = Math.log(10000) / Math.max(half - 1, 1);
  for (let pos = 0; pos < t; pos++) {
    const p = pos + POSITION_OFFSET;
    for (let i = 0; i < half; i++) {
      const w = Math.exp(-i * step);
      out[pos * c + i] = Math.sin(p * w);
      out[pos * c + half + i] = Math.cos(p * w);
    }
  }
  return out;
}
