/**
 * Shared helpers for the data-layer tests: the committed fixture's location and throwaway folders.
 * @module
 */
import { fileURLToPath } from "node:url";

/** The committed text fixture (three excerpts of NLTK's Gutenberg books). */
export const FIXTURE_DIR: string = fileURLToPath(new URL("../../data/fixture", import.meta.url));

/** Run `fn` with a fresh temporary folder, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "nk-data-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A token array 0, 1, 2, … n−1 (as u16, wrapping), so a token's value tells where it came from. */
export function iota(n: number): Uint16Array {
  return Uint16Array.from({ length: n }, (_, i) => i);
}
